import ArgumentParser
import Foundation
import RoostAPI
import RoostDomain
import RoostEngine

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Administer accounts offline (refused while a server owns the data directory).",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an admin account. Admins are made only here, never through the API.")

        @Option(help: "The admin's email address.") var email: String
        @Option(help: "The admin's password (12–128 characters).") var password: String
        @Option(help: "The admin's display name.") var name = "Administrator"
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            let (configuration, logger) = try loadConfiguration(dataDirectory: data.dataDirectory)
            let normalised = EmailAddress.normalise(email)
            guard EmailAddress.isValid(normalised) else { throw OperationFailed("--email \(email) is not a valid email address") }
            guard (12...128).contains(password.count) else { throw OperationFailed("--password must be 12–128 characters") }
            let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...100).contains(trimmedName.count) else { throw OperationFailed("--name must be 1–100 characters") }

            let engine: Engine
            do {
                engine = try Engine.open(options: configuration.engineOptions(), aggregates: roostAggregates, logger: logger)
            } catch {
                throw OperationFailed("cannot open \(configuration.dataDirectory): \(error)")
            }
            defer { engine.close() }
            let accounts = try await RoostServices.accountService(configuration: configuration, engine: engine, logger: logger)
            defer { Task { try? await accounts.hasher.shutdown() } }
            do {
                _ = try await accounts.register(email: normalised, password: password, name: trimmedName, role: .admin, startSession: false)
            } catch let problem as Problem where problem.code == "email_taken" {
                throw OperationFailed("an account with email \(normalised) already exists")
            }
            print("admin created: \(normalised) (\(accounts.userID(forEmail: normalised) ?? "?"))")
        }
    }
}
