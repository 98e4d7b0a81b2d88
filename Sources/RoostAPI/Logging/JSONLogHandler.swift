import Foundation
import Logging
import Synchronization

/// Writes one JSON object per line to standard output: `ts`, `level`, `msg`, `label`, then the
/// metadata keys (dotted, e.g. `request.id`, `wal.lsn`) as string fields.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"ts\":\""
        line += Self.timestamp()
        line += "\",\"level\":\"\(event.level.rawValue)\",\"msg\":"
        Self.appendQuoted(event.message.description, to: &line)
        line += ",\"label\":"
        Self.appendQuoted(label, to: &line)
        let merged = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        for key in merged.keys.sorted() {
            line += ","
            Self.appendQuoted(key, to: &line)
            line += ":"
            Self.appendQuoted(merged[key]!.description, to: &line)
        }
        line += "}\n"
        StandardOutput.write(line)
    }

    static func appendQuoted(_ text: String, to line: inout String) {
        line += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20: line += String(format: "\\u%04x", scalar.value)
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }

    /// RFC 3339 UTC with milliseconds, formatted by hand (this runs for every request log line).
    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = ""
        text.reserveCapacity(24)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                text.unicodeScalars.append(Unicode.Scalar(UInt8(48 + rest / divisor)))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); text += "-"
        digits(Int(parts.tm_mon) + 1, 2); text += "-"
        digits(Int(parts.tm_mday), 2); text += "T"
        digits(Int(parts.tm_hour), 2); text += ":"
        digits(Int(parts.tm_min), 2); text += ":"
        digits(Int(parts.tm_sec), 2); text += "."
        digits(Int(now.tv_nsec / 1_000_000), 3); text += "Z"
        return text
    }
}

/// Whole lines to fd 1 with one `write` each, so lines from different threads never interleave.
enum StandardOutput {
    private static let lock = Mutex(())

    static func write(_ line: String) {
        var line = line
        lock.withLock { _ in
            line.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(1, bytes.baseAddress! + offset, bytes.count - offset)
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
    }
}
