import Foundation
import Logging
import RoostAPI
import RoostEngine

/// Reads the environment once, applies the command line's overrides, and sets up logging.
func loadConfiguration(dataDirectory: String?, adjust: (inout RoostConfiguration) -> Void = { _ in }) throws -> (RoostConfiguration, Logger) {
    var configuration = try RoostConfiguration(environment: ProcessInfo.processInfo.environment)
    if let dataDirectory { configuration.dataDirectory = dataDirectory }
    adjust(&configuration)
    let level = configuration.logLevel
    atexit { LogSink.standardOutput.flush() }  // batched log lines reach the file before any exit
    if configuration.logFormat == "json" {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    } else {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
    }
    return (configuration, Logger(label: "roost"))
}

/// For the commands that read or rebuild existing state (check, snapshot, restore, wal): a data
/// directory that is not there is a mistyped path, refused before anything is created there (a
/// check of the wrong path said "ok").
func requireExistingState(_ configuration: RoostConfiguration) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: configuration.dataDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw OperationFailed("there is no data directory at \(configuration.dataDirectory); check --data-dir or ROOST_DATA_DIR")
    }
}

/// Prints to standard error (operator-facing messages of the ops commands).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// An operation that did not succeed: printed as one line, exit status 1 (not a usage error).
struct OperationFailed: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
