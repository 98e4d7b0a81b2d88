import ArgumentParser

@main
struct Roost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roost",
        abstract: "The Roost marketplace backend: serve the API and operate its data directory.",
        subcommands: [Serve.self, Admin.self, Import.self, Snapshot.self, Restore.self, WAL.self, Check.self]
    )
}

/// The flag every command that touches a data directory takes (overrides ROOST_DATA_DIR).
struct DataDirectoryOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The data directory (default: ROOST_DATA_DIR, else data/state).")
    var dataDirectory: String?
}
