import Glibc
import Synchronization

/// An exclusive `flock` on `<data dir>/LOCK`, and one on the directory itself, held for the life
/// of the owning process.
///
/// The kernel releases them when the process exits, however it exits, so a crashed server never
/// leaves a stale lock. The file holds the owner's pid, which the refusal names. The file outlives
/// its owner, so it looks like a leftover to remove: the directory's own lock still refuses a
/// second server after `LOCK` was deleted under a running one (two writers on one log).
public final class DataDirectoryLock: Sendable {
    public let path: String
    /// The `LOCK` file's descriptor, and the directory's (-1 where the filesystem has no `flock` on directories).
    private let fds: Mutex<(file: Int32, directory: Int32)>

    public init(directory: String) throws {
        try FileSystem.createDirectory(directory)
        path = directory + "/LOCK"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError.io(operation: "open", path: path, errno: errno) }
        guard Self.lockBriefly(fd, LOCK_EX) else {
            let owner = Self.readOwner(fd)
            close(fd)
            throw StorageError.locked(path: directory, ownerPID: owner)
        }
        let directoryFD: Int32
        do {
            directoryFD = try Self.lockDirectory(directory, LOCK_EX)
        } catch {
            close(fd)
            throw error
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        fds = Mutex((fd, directoryFD))
    }

    /// Locks the directory itself (`operation`: `LOCK_EX` or `LOCK_SH`); its descriptor, or -1 when
    /// the filesystem cannot lock a directory. Held elsewhere: `locked`, the owner unknown, since
    /// the `LOCK` file that would name it is not the one the owner holds.
    private static func lockDirectory(_ directory: String, _ operation: Int32) throws -> Int32 {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.io(operation: "open", path: directory, errno: errno) }
        if lockBriefly(fd, operation) { return fd }
        let refused = errno == EWOULDBLOCK
        close(fd)
        guard refused else { return -1 }
        throw StorageError.locked(path: directory, ownerPID: "unknown: its LOCK file was removed or replaced")
    }

    /// Tries the exclusive lock for up to `lockWaitMilliseconds`. A lock can outlive its holder
    /// for a moment: a process spawned elsewhere in this process (between `fork` and `exec`, before
    /// close-on-exec takes effect) briefly holds a copy of every descriptor. A real owner holds
    /// on, and is refused after the wait.
    private static func lockBriefly(_ fd: Int32, _ operation: Int32) -> Bool {
        for attempt in 0...(lockWaitMilliseconds / 10) {
            if flock(fd, operation | LOCK_NB) == 0 { return true }
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

    /// Shared `flock`s on the directory and its `LOCK` file (if there is one), for an offline reader
    /// (`roost check`): while they are held no server can take the directory, and nothing is
    /// created or written. Throws `locked` when a process holds the directory. Nil when there is
    /// nothing to hold (no `LOCK` file, and a filesystem without locks on directories).
    public static func readerHold(directory: String) throws -> DataDirectoryLock? {
        let path = directory + "/LOCK"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            guard errno == ENOENT else { throw StorageError.io(operation: "open", path: path, errno: errno) }
        } else if flock(fd, LOCK_SH | LOCK_NB) != 0 {
            let owner = readOwner(fd)
            close(fd)
            throw StorageError.locked(path: directory, ownerPID: owner)
        }
        let directoryFD: Int32
        do {
            directoryFD = try lockDirectory(directory, LOCK_SH)
        } catch {
            if fd >= 0 { close(fd) }
            throw error
        }
        guard fd >= 0 || directoryFD >= 0 else { return nil }
        return DataDirectoryLock(path: path, holding: fd, directory: directoryFD)
    }

    private init(path: String, holding fd: Int32, directory: Int32) {
        self.path = path
        fds = Mutex((fd, directory))
    }

    /// Gives the directory up (closing the descriptors drops the flocks). Idempotent.
    public func release() {
        fds.withLock { fds in
            if fds.file >= 0 { close(fds.file) }
            if fds.directory >= 0 { close(fds.directory) }
            fds = (-1, -1)
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
