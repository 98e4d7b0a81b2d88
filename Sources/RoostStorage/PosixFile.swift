import Glibc  // Roost runs on Linux: fdatasync, flock and O_DIRECTORY are used as Linux defines them.

/// The system calls whose failure matters for durability, behind one seam so tests can make them fail.
///
/// The default is the real thing. A test passes closures that fail on the Nth call (EIO, ENOSPC)
/// and checks that the log stops taking writes and that a restart recovers.
public struct StorageIO: Sendable {
    public var write: @Sendable (_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ offset: Int) -> Int
    public var fdatasync: @Sendable (_ fd: Int32) -> Int32
    public var fsync: @Sendable (_ fd: Int32) -> Int32

    public init(
        write: @escaping @Sendable (Int32, UnsafeRawBufferPointer, Int) -> Int,
        fdatasync: @escaping @Sendable (Int32) -> Int32,
        fsync: @escaping @Sendable (Int32) -> Int32
    ) {
        self.write = write
        self.fdatasync = fdatasync
        self.fsync = fsync
    }

    public static let system = StorageIO(
        write: { fd, bytes, offset in Glibc.pwrite(fd, bytes.baseAddress, bytes.count, off_t(offset)) },
        fdatasync: { fd in Glibc.fdatasync(fd) },
        fsync: { fd in Glibc.fsync(fd) }
    )
}

/// An open file descriptor with the few operations storage needs, each failing with `StorageError.io`.
struct PosixFile: ~Copyable {
    let fd: Int32
    let path: String
    let io: StorageIO

    init(path: String, flags: Int32, mode: mode_t = 0o644, io: StorageIO = .system) throws {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StorageError.io(operation: "open", path: path, errno: errno) }
        self.fd = fd
        self.path = path
        self.io = io
    }

    deinit { Glibc.close(fd) }

    func size() throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw StorageError.io(operation: "fstat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    /// Writes all of `bytes` at `offset`, continuing after short writes.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            let written = io.write(fd, rest, offset + done)
            if written < 0 {
                if errno == EINTR { continue }
                throw StorageError.io(operation: "pwrite", path: path, errno: errno)
            }
            if written == 0 { throw StorageError.io(operation: "pwrite", path: path, errno: EIO) }
            done += written
        }
    }

    func write(_ bytes: [UInt8], at offset: Int) throws {
        try bytes.withUnsafeBytes { (raw) in try write(raw, at: offset) }
    }

    /// Reads the whole file. Callers bound the size first.
    func readAll(limit: Int) throws -> [UInt8] {
        let count = try size()
        guard count <= limit else { throw StorageError.io(operation: "read (file larger than \(limit) bytes)", path: path, errno: EFBIG) }
        return try read(count: count, at: 0)
    }

    /// Reads up to `count` bytes at `offset` straight into a new array (no zero-filling first);
    /// fewer only if the file ends sooner.
    func read(count: Int, at offset: Int) throws -> [UInt8] {
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            while initialized < count {
                let got = pread(fd, buffer.baseAddress! + initialized, count - initialized, off_t(offset + initialized))
                if got < 0 && errno == EINTR { continue }
                if got < 0 { failure = errno; return }
                if got == 0 { return }
                initialized += got
            }
        }
        guard failure == 0 else { throw StorageError.io(operation: "pread", path: path, errno: failure) }
        return bytes
    }

    func dataSync() throws {
        guard io.fdatasync(fd) == 0 else { throw StorageError.io(operation: "fdatasync", path: path, errno: errno) }
    }

    func fullSync() throws {
        guard io.fsync(fd) == 0 else { throw StorageError.io(operation: "fsync", path: path, errno: errno) }
    }

    func truncate(to length: Int) throws {
        guard ftruncate(fd, off_t(length)) == 0 else { throw StorageError.io(operation: "ftruncate", path: path, errno: errno) }
    }
}

/// Filesystem helpers: every rename, create and delete that must survive a crash is followed by `syncDirectory`.
enum FileSystem {
    static func syncDirectory(_ path: String, io: StorageIO = .system) throws {
        let dir = try PosixFile(path: path, flags: O_RDONLY | O_DIRECTORY, io: io)
        try dir.fullSync()
    }

    /// Creates `path` and any missing parents, syncing each parent that gained an entry.
    static func createDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            let parent = prefix.isEmpty ? "/" : prefix
            prefix += "/" + part
            if mkdir(prefix, 0o755) == 0 {
                try syncDirectory(parent)
            } else if errno != EEXIST {
                throw StorageError.io(operation: "mkdir", path: prefix, errno: errno)
            }
        }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func list(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { throw StorageError.io(operation: "opendir", path: directory, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw StorageError.io(operation: "rename to \(to)", path: from, errno: errno) }
    }

    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw StorageError.io(operation: "unlink", path: path, errno: errno) }
    }

    /// Copies `from` to `to` and syncs the copy (used to keep `.broken` evidence before a repair).
    static func copy(_ from: String, to: String) throws {
        let source = try PosixFile(path: from, flags: O_RDONLY)
        let bytes = try source.readAll(limit: Int.max)
        let target = try PosixFile(path: to, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try target.write(bytes, at: 0)
        try target.fullSync()
    }
}

/// Small files that must be whole after a crash: written to a temporary name, synced, renamed over, and the
/// directory synced.
public enum DurableFile {
    public static func replace(_ path: String, with bytes: [UInt8], io: StorageIO = .system) throws {
        let temporaryPath = path + ".tmp"
        do {
            let file = try PosixFile(path: temporaryPath, flags: O_WRONLY | O_CREAT | O_TRUNC, io: io)
            try bytes.withUnsafeBytes { try file.write($0, at: 0) }
            try file.fullSync()
        }
        try FileSystem.rename(temporaryPath, to: path)
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        try FileSystem.syncDirectory(parent.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : parent, io: io)
    }
}
