import Foundation
import Logging
import RoostBinary
#if canImport(Glibc)
import Glibc
#endif
#if canImport(CoreFoundation)
import CoreFoundation  // where this toolchain's Foundation re-exports timespec from
#endif

/// Writes one JSON object per line: `ts`, `level`, `msg`, `label`, then the metadata keys
/// (dotted, e.g. `request.id`, `wal.lsn`) as string fields.
///
/// It runs for every request, so lines are built as UTF-8 bytes directly and handed to a
/// `LogSink`, which batches them into few `write` calls.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let sink: LogSink

    public init(label: String, level: Logger.Level, sink: LogSink = .standardOutput) {
        self.label = label
        logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(320)
        line.append(contentsOf: #"{"ts":""#.utf8)
        Self.appendTimestamp(to: &line)
        line.append(contentsOf: #"","level":""#.utf8)
        line.append(contentsOf: event.level.rawValue.utf8)
        line.append(contentsOf: #"","msg":"#.utf8)
        JSONText.appendQuoted(event.message.description, to: &line)
        line.append(contentsOf: #","label":"#.utf8)
        JSONText.appendQuoted(label, to: &line)
        let extra = event.metadata ?? [:]
        // Hummingbird's request id is Roost's unless the client chose one (then it is `request.id` already).
        let renameRequestID = metadata["request.id"] == nil && extra["request.id"] == nil
        for (key, value) in metadata where extra[key] == nil {
            Self.appendField(renameRequestID && key == "hb.request.id" ? "request.id" : key, value, to: &line)
        }
        for (key, value) in extra { Self.appendField(key, value, to: &line) }
        line.append(contentsOf: "}\n".utf8)
        // Warnings and worse reach the file before the call returns: they must survive a crash.
        sink.write(line, flushNow: event.level >= .warning)
    }

    private static func appendField(_ key: String, _ value: Logger.Metadata.Value, to line: inout [UInt8]) {
        line.append(UInt8(ascii: ","))
        JSONText.appendQuoted(key, to: &line)
        line.append(UInt8(ascii: ":"))
        switch value {
        case let .string(text): JSONText.appendQuoted(text, to: &line)
        case let .stringConvertible(convertible): JSONText.appendQuoted(convertible.description, to: &line)
        default: JSONText.appendQuoted(value.description, to: &line)
        }
    }

    /// Now, as RFC 3339 UTC with milliseconds.
    static func appendTimestamp(to line: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        appendRFC3339(millisecondsSinceEpoch: Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec / 1_000_000), to: &line)
    }

    /// RFC 3339 UTC with milliseconds (`2026-11-25T16:21:59.964Z`), without Foundation's formatters.
    static func appendRFC3339(millisecondsSinceEpoch milliseconds: Int64, to line: inout [UInt8]) {
        var seconds = time_t(milliseconds.quotientAndRemainder(dividingBy: 1000).quotient - (milliseconds % 1000 < 0 ? 1 : 0))
        let millis = Int((milliseconds % 1000 + 1000) % 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                line.append(UInt8(48 + (value / divisor) % 10))
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2); line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2); line.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2); line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2); line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2); line.append(UInt8(ascii: "."))
        digits(millis, 3); line.append(UInt8(ascii: "Z"))
    }
}
