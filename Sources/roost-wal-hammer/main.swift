// roost-wal-hammer: appends to a WAL from many tasks at once and prints "ack <lsn>" for every
// record once it is durable. The crash tests SIGKILL it at random moments and check that every
// acknowledged LSN comes back after recovery and that nothing else appears.
//
// usage: roost-wal-hammer DIR [appenders=64] [segmentBytes=1048576] [fileSizeLimitBytes=0] [preallocate=0|1]
// Payloads are `HammerPayload`s: (appender, sequence) repeated, so a reader can tell a real
// record from invented bytes. With a file-size limit (RLIMIT_FSIZE) writes eventually fail with
// EFBIG: the hammer prints "failed <reason>" and exits 3 without acknowledging anything more.
import Glibc
import Logging
import RoostStorage

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: roost-wal-hammer DIR [appenders] [segmentBytes] [fileSizeLimitBytes] [preallocate]")
    exit(2)
}
let directory = arguments[1]
let appenders = arguments.count > 2 ? Int(arguments[2]) ?? 64 : 64
let segmentBytes = arguments.count > 3 ? Int(arguments[3]) ?? (1 << 20) : (1 << 20)
let fileSizeLimit = arguments.count > 4 ? Int(arguments[4]) ?? 0 : 0
// With preallocation the next segment is zero-filled by another thread (a spare), so a kill can
// land while a spare is half written or being renamed into place.
let preallocate = arguments.count > 5 && arguments[5] == "1"

if fileSizeLimit > 0 {
    signal(SIGXFSZ, SIG_IGN)  // a write past the limit then fails with EFBIG instead of killing us
    var limit = rlimit(rlim_cur: rlim_t(fileSizeLimit), rlim_max: rlim_t(fileSizeLimit))
    setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit)
}

func emit(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }  // unbuffered: the line is out before any kill
}

var logger = Logger(label: "roost-wal-hammer")
logger.logLevel = .error
let limits = WALLimits(segmentBytes: segmentBytes, recordBytesMax: 4096, pendingBytesMax: 16 << 20)
do {
    let tail = try WALRecovery.recover(directory: directory, limits: limits, logger: logger) { _ in }
    let log = try WriteAheadLog(directory: directory, tail: tail, options: WALOptions(limits: limits, preallocate: preallocate), logger: logger)
    emit("ready \(tail.lastLSN)")
    try await withThrowingTaskGroup(of: Void.self) { group in
        for appender in 0..<appenders {
            group.addTask {
                var sequence: UInt64 = 0
                while true {
                    let payload = HammerPayload(appender: UInt32(appender), sequence: sequence).bytes
                    let lsn = try await log.appendDurably(type: 1, payload: payload)
                    emit("ack \(lsn)")
                    sequence += 1
                }
            }
        }
        try await group.next()
    }
} catch {
    emit("failed \(error)")
    exit(3)
}
