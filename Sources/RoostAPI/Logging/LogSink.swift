import Dispatch
import Foundation
import Synchronization

/// Whole log lines to a file descriptor, batched: lines collect in a buffer that a writer thread
/// empties with one `write` every `flushIntervalMilliseconds` (or as soon as it holds `bufferBytesMax`).
/// Lines never interleave. Warnings and worse are written before the logging call returns, so at
/// most `flushIntervalMilliseconds` of info-level lines can be lost if the process is killed.
public final class LogSink: Sendable {
    public static let standardOutput = LogSink(fd: 1)
    static let flushIntervalMilliseconds = 50
    static let bufferBytesMax = 256 << 10

    private let fd: Int32
    private let buffer = Mutex<[UInt8]>([])
    /// Held while a batch is written, so batches reach the file in the order they were taken.
    private let writing = Mutex(())
    private let wake = DispatchSemaphore(value: 0)

    init(fd: Int32) {
        self.fd = fd
        let thread = Thread { [self] in
            while true {
                _ = wake.wait(timeout: .now() + .milliseconds(Self.flushIntervalMilliseconds))
                flush()
            }
        }
        thread.name = "roost-log-writer"
        thread.start()
    }

    func write(_ line: [UInt8], flushNow: Bool) {
        let full = buffer.withLock { buffer in
            buffer.append(contentsOf: line)
            return buffer.count >= Self.bufferBytesMax
        }
        if flushNow { flush() } else if full { wake.signal() }
    }

    /// Writes out everything buffered (the writer thread calls it; so does shutdown).
    public func flush() {
        writing.withLock { _ in
            let pending = buffer.withLock { buffer in
                defer { buffer.removeAll(keepingCapacity: true) }
                return buffer
            }
            pending.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
    }
}
