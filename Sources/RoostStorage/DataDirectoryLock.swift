import Glibc
import Synchronization

/// An exclusive `flock` on `<data dir>/LOCK`, held for the life of the owning process.
///
/// The kernel releases it when the process exits, however it exits, so a crashed server never
/// leaves a stale lock. The file holds the owner's pid, which the refusal names.
public final class DataDirectoryLock: Sendable {
    public let path: String
    private let fd: Mutex<Int32>

    public init(directory: String) throws {
        try FileSystem.createDirectory(directory)
        path = directory + "/LOCK"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError.io(operation: "open", path: path, errno: errno) }
        guard Self.lockBriefly(fd) else {
            let owner = Self.readOwner(fd)
            close(fd)
            throw StorageError.locked(path: directory, ownerPID: owner)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = Mutex(fd)
    }

    /// Tries the exclusive lock for up to `lockWaitMilliseconds`. A lock can outlive its holder
    /// for a moment: a process spawned elsewhere in this process (between `fork` and `exec`, before
    /// close-on-exec takes effect) briefly holds a copy of every descriptor. A real owner holds
    /// on, and is refused after the wait.
    private static func lockBriefly(_ fd: Int32) -> Bool {
        for attempt in 0...(lockWaitMilliseconds / 10) {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            guard errno == EWOULDBLOCK, attempt < lockWaitMilliseconds / 10 else { return false }
            usleep(10_000)
        }
        return false
    }

    static let lockWaitMilliseconds = 250

    /// The pid written by the current owner of the lock at `directory`, if one holds it.
    public static func owner(of directory: String) -> Int32? {
        let fd = open(directory + "/LOCK", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 { return nil }  // nobody holds it
        return Int32(readOwner(fd))
    }

    private static func readOwner(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 32, 0) }
        let text = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
        return text.trimmingSuffix(while: { $0 == "\n" || $0 == "\0" })
    }

    /// A shared `flock` on the directory's existing `LOCK`, for an offline reader (`roost check`):
    /// while it is held no server can take the directory, and nothing is created or written (a
    /// directory without `LOCK` has never been served; nil then). Throws `locked` when a process
    /// holds the directory. Released when the returned lock is released or freed.
    public static func readerHold(directory: String) throws -> DataDirectoryLock? {
        let path = directory + "/LOCK"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw StorageError.io(operation: "open", path: path, errno: errno)
        }
        guard flock(fd, LOCK_SH | LOCK_NB) == 0 else {
            let owner = readOwner(fd)
            close(fd)
            throw StorageError.locked(path: directory, ownerPID: owner)
        }
        return DataDirectoryLock(path: path, holding: fd)
    }

    private init(path: String, holding fd: Int32) {
        self.path = path
        self.fd = Mutex(fd)
    }

    /// Gives the directory up (closing the descriptor drops the flock). Idempotent.
    public func release() {
        fd.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    deinit { release() }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var result = self
        while let last = result.last, predicate(last) { result.removeLast() }
        return result
    }
}
