import RoostBinary

/// The frozen on-disk tags of `Accounts.Event`. Never renumber; retire a tag by leaving it unused.
extension Accounts.Event {
    private enum Tag: UInt16 {
        case registered = 1
        case sessionStarted = 2
        case sessionRotated = 3
        case sessionRevoked = 4
        case profileUpdated = 5
        case photoChanged = 6
        case roleChanged = 7
        case suspensionChanged = 8
        case identityLinked = 9
    }

    public func encode(into writer: inout ByteWriter) {
        func header(_ tag: Tag) { EventHeader(tag: tag.rawValue, version: 1).write(into: &writer) }
        switch self {
        case let .registered(record):
            header(.registered)
            writer.write(record)
        case let .sessionStarted(userID, family):
            header(.sessionStarted)
            writer.writeString(userID)
            writer.write(family)
        case let .sessionRotated(userID, familyID, generation, secretHash, expiresAt):
            header(.sessionRotated)
            writer.writeString(userID)
            writer.writeString(familyID)
            writer.write(generation)
            writer.writeBytes(secretHash)
            writer.write(expiresAt)
        case let .sessionRevoked(userID, familyID, reason):
            header(.sessionRevoked)
            writer.writeString(userID)
            writer.writeString(familyID)
            writer.write(reason.rawValue)
        case let .profileUpdated(userID, change, at):
            header(.profileUpdated)
            writer.writeString(userID)
            writer.write(change.name != nil)
            if let name = change.name { writer.writeString(name) }
            for field in [change.phone, change.bio] {
                writer.write(field != nil)
                if let field { writer.writeOptionalString(field) }
            }
            writer.write(at)
        case let .photoChanged(userID, previous, current, at):
            header(.photoChanged)
            writer.writeString(userID)
            writer.writeOptionalString(previous)
            writer.writeOptionalString(current)
            writer.write(at)
        case let .roleChanged(userID, role, at):
            header(.roleChanged)
            writer.writeString(userID)
            writer.write(role.rawValue)
            writer.write(at)
        case let .suspensionChanged(userID, suspended, at):
            header(.suspensionChanged)
            writer.writeString(userID)
            writer.write(suspended)
            writer.write(at)
        case let .identityLinked(userID, identity, provesEmail, at):
            header(.identityLinked)
            writer.writeString(userID)
            writer.writeString(identity.provider)
            writer.writeString(identity.subject)
            writer.write(provesEmail)
            writer.write(at)
        }
    }

    public static func decode(from reader: inout ByteReader) throws(DecodeError) -> Self {
        let header = try EventHeader.read(from: &reader)
        guard header.version == 1, let tag = Tag(rawValue: header.tag) else { throw header.unknown(in: Self.self) }
        switch tag {
        case .registered:
            return .registered(try reader.readUserRecord())
        case .sessionStarted:
            return .sessionStarted(userID: try reader.readString(), family: try reader.readSessionFamily())
        case .sessionRotated:
            return .sessionRotated(
                userID: try reader.readString(), familyID: try reader.readString(), generation: try reader.readUInt32(),
                secretHash: try reader.readBytes(), expiresAt: try reader.readTimestamp()
            )
        case .sessionRevoked:
            let userID = try reader.readString()
            let familyID = try reader.readString()
            let raw = try reader.readUInt8()
            guard let reason = Accounts.RevocationReason(rawValue: raw) else { throw .invalid("unknown revocation reason \(raw)") }
            return .sessionRevoked(userID: userID, familyID: familyID, reason: reason)
        case .profileUpdated:
            let userID = try reader.readString()
            var change = ProfileChange()
            if try reader.readBool() { change.name = try reader.readString() }
            if try reader.readBool() { change.phone = .some(try reader.readOptionalString()) }
            if try reader.readBool() { change.bio = .some(try reader.readOptionalString()) }
            return .profileUpdated(userID: userID, change, at: try reader.readTimestamp())
        case .photoChanged:
            return .photoChanged(
                userID: try reader.readString(), previous: try reader.readOptionalString(),
                current: try reader.readOptionalString(), at: try reader.readTimestamp()
            )
        case .roleChanged:
            return .roleChanged(userID: try reader.readString(), role: try reader.readRole(), at: try reader.readTimestamp())
        case .suspensionChanged:
            return .suspensionChanged(userID: try reader.readString(), suspended: try reader.readBool(), at: try reader.readTimestamp())
        case .identityLinked:
            return .identityLinked(
                userID: try reader.readString(),
                LinkedIdentity(provider: try reader.readString(), subject: try reader.readString()),
                provesEmail: try reader.readBool(), at: try reader.readTimestamp()
            )
        }
    }
}
