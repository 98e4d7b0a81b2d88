/// Where a Redis server is and how `RedisClient` talks to it.
///
/// Built from a URL of the form `redis://[[user]:password@]host[:port][/db]` (the format of
/// `ROOST_REDIS_URL`), then tuned through its properties. hiredis 0.14 has no TLS, so `rediss://`
/// is refused rather than silently sent in the clear.
public struct RedisConfiguration: Sendable, Equatable {
    /// A host name, IPv4 address or IPv6 address (without brackets).
    public var host: String
    public var port: Int
    /// The ACL user for `AUTH user password` (Redis 6+); nil sends `AUTH password`.
    public var username: String?
    /// Sent with `AUTH` on every new connection; nil sends no `AUTH`.
    public var password: String?
    /// Selected with `SELECT` on every new connection when not 0.
    public var database: Int

    /// Worker threads, each owning one connection.
    public var connections: Int = 4
    /// How long a TCP connect may take.
    public var connectTimeout: Duration = .milliseconds(500)
    /// How long a command may wait for its reply; then the connection is dropped and the call fails with `.timeout`.
    public var commandTimeout: Duration = .milliseconds(500)
    /// Consecutive connection failures (refused, lost, timed out) that open the circuit breaker.
    public var failureThreshold: Int = 3
    /// How long the breaker stays open after it first opens; doubled after each failed probe, up to `maxCooldown`.
    public var cooldown: Duration = .seconds(1)
    public var maxCooldown: Duration = .seconds(30)

    public init(host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`. User and password may be percent-encoded.
    ///
    /// Error messages never repeat the URL, which may hold a password.
    public init(url: String) throws(RedisConfigurationError) {
        let schemeEnd = "://"
        guard let schemeRange = url.firstRange(of: schemeEnd) else {
            throw RedisConfigurationError("expected redis://[[user]:password@]host[:port][/db]")
        }
        let scheme = url[..<schemeRange.lowerBound].lowercased()
        guard scheme == "redis" else {
            if scheme == "rediss" { throw RedisConfigurationError("rediss:// (TLS) is not supported by this build; use redis://") }
            throw RedisConfigurationError("the scheme must be redis://")
        }
        var rest = Substring(url[schemeRange.upperBound...])

        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = credentials.firstIndex(of: ":") else {
                throw RedisConfigurationError("credentials must be [user]:password@")
            }
            let user = try Self.percentDecoded(credentials[..<colon], what: "user")
            username = user.isEmpty ? nil : user
            password = try Self.percentDecoded(credentials[credentials.index(after: colon)...], what: "password")
            if password?.isEmpty == true { throw RedisConfigurationError("the password is empty") }
        }

        if rest.contains("?") || rest.contains("#") {
            throw RedisConfigurationError("query strings and fragments are not supported")
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard path.allSatisfy(\.isASCII), let number = Int(path), (0...1_000_000).contains(number) else {
                    throw RedisConfigurationError("the database must be a non-negative number, as in redis://host:6379/0")
                }
                database = number
            }
        }

        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw RedisConfigurationError("an IPv6 address lacks its closing ]") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw RedisConfigurationError("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw RedisConfigurationError("the host is missing") }
        guard !host.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "@" }) else {
            throw RedisConfigurationError("the host contains characters a host name cannot have")
        }
        var port = 6379
        if let portText {
            guard portText.allSatisfy(\.isASCII), let number = Int(portText), (1...65535).contains(number) else {
                throw RedisConfigurationError("the port must be a number from 1 to 65535")
            }
            port = number
        }
        self.init(host: String(host), port: port, username: username, password: password, database: database)
    }

    /// `host:port/db`, never the credentials: safe to log.
    public var redactedDescription: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "redis://\(password == nil ? "" : "***@")\(shownHost):\(port)/\(database)"
    }

    private static func percentDecoded(_ text: Substring, what: String) throws(RedisConfigurationError) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard utf8.count >= 2, let high = hexValue(utf8.removeFirst()), let low = hexValue(utf8.removeFirst()) else {
                throw RedisConfigurationError("the \(what) has a malformed %-escape")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw RedisConfigurationError("the \(what) is not valid UTF-8 once %-decoded")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A Redis URL that cannot be used; `description` says why without repeating the URL.
public struct RedisConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "invalid Redis URL: \(message)" }
}
