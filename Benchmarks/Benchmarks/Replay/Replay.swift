import Benchmark
import RoostBenchKit

let benchmarks: @Sendable () -> Void = {}
