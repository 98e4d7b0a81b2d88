import Crypto
import Foundation

/// An AWS access key, optionally with the session token of temporary (STS) credentials.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Sent as `x-amz-security-token` (header) or `X-Amz-Security-Token` (query) and signed.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`), as S3 wants it: pure, with the clock passed in.
///
/// Paths are signed the S3 way: each segment URI-encoded once (RFC 3986 unreserved characters
/// and `/` kept, everything else `%XX`), never normalised, so `a//b/./c` stays as it is.
/// Two forms are made: an `Authorization` header (``sign(_:payload:now:addContentSHA256Header:)``)
/// and a presigned URL query (``presign(_:expiresIn:now:payload:)``).
public struct SigV4Signer: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash of a request whose body is not signed (every presigned URL).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The longest a presigned URL may live: seven days.
    public static let presignedExpiryMax = 604_800

    public var credentials: AWSCredentials
    public var region: String
    /// The signing name of the service: `s3` for S3.
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// A request as the signer sees it. `path` and the query are *not* encoded: the signer
    /// encodes them, and the URL sent must use ``encodedPath`` and the query the signer returns.
    public struct Request: Sendable {
        public var method: String
        /// Starts with `/`; for example `/bucket/users/u 7/photo.jpg`.
        public var path: String
        public var query: [(name: String, value: String)]
        /// Every header to sign, `Host` included (as sent: `host` or `host:port`). Repeated
        /// names are signed as one comma-joined value, in the order given.
        public var headers: [(name: String, value: String)]

        public init(method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)]) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
        }

        /// The path as it goes on the wire and into the canonical request.
        public var encodedPath: String { SigV4Signer.encodePath(path) }
    }

    /// What the signature covers of the body.
    public enum Payload: Sendable, Equatable {
        /// The body itself: its SHA-256 is signed.
        case bytes([UInt8])
        /// The hex SHA-256 of a body already hashed.
        case sha256(String)
        /// `UNSIGNED-PAYLOAD`: the body is not covered.
        case unsigned

        /// The value of the canonical request's last line and of `x-amz-content-sha256`.
        public var hash: String {
            switch self {
            case .bytes(let bytes): SigV4Signer.hex(SHA256.hash(data: bytes))
            case .sha256(let hex): hex
            case .unsigned: SigV4Signer.unsignedPayload
            }
        }
    }

    /// An `Authorization`-header signature and the steps that made it.
    public struct HeaderSignature: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        /// `content-type;host;x-amz-date`, for example.
        public var signedHeaders: String
        /// The `Authorization` header value.
        public var authorization: String
        /// Headers to add to the request: `Authorization`, `X-Amz-Date`, and when they were
        /// signed `X-Amz-Content-SHA256` and `X-Amz-Security-Token`.
        public var headers: [(name: String, value: String)]
    }

    /// A query-string (presigned URL) signature.
    public struct QuerySignature: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        /// The encoded query to send: the request's own parameters, then `X-Amz-Algorithm`,
        /// `-Credential`, `-Date`, `-Expires`, `-SignedHeaders`, `-Security-Token` and `-Signature`.
        public var encodedQuery: String
    }

    /// Signs `request` for the `Authorization` header at `now`.
    ///
    /// - Parameter addContentSHA256Header: sign and send `x-amz-content-sha256` (S3 requires
    ///   it; other services' test vectors do not have it).
    public func sign(_ request: Request, payload: Payload, now: Date, addContentSHA256Header: Bool = true) -> HeaderSignature {
        let time = SigV4Time(now)
        var added: [(name: String, value: String)] = [("X-Amz-Date", time.dateTime)]
        if addContentSHA256Header { added.append(("X-Amz-Content-SHA256", payload.hash)) }
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        let headers = Self.canonicalHeaders(request.headers + added)
        let canonicalRequest = Self.canonicalRequest(request, query: request.query, headers: headers, payloadHash: payload.hash)
        let stringToSign = stringToSign(canonicalRequest, time: time)
        let signature = signature(of: stringToSign, time: time)
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope(time)), SignedHeaders=\(headers.signed), Signature=\(signature)"
        return HeaderSignature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
            signedHeaders: headers.signed, authorization: authorization,
            headers: [("Authorization", authorization)] + added
        )
    }

    /// Signs `request` in its query string: a presigned URL valid `expiresIn` seconds from
    /// `now` (1 … 604800). Every header of `request` is signed (usually just `Host`).
    public func presign(
        _ request: Request, expiresIn: Int, now: Date, payload: Payload = .unsigned
    ) throws(SigV4Error) -> QuerySignature {
        guard (1...Self.presignedExpiryMax).contains(expiresIn) else {
            throw .expiryOutOfRange(expiresIn)
        }
        let time = SigV4Time(now)
        let headers = Self.canonicalHeaders(request.headers)
        var authentication: [(name: String, value: String)] = [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(time))"),
            ("X-Amz-Date", time.dateTime),
            ("X-Amz-Expires", String(expiresIn)),
            ("X-Amz-SignedHeaders", headers.signed),
        ]
        if let token = credentials.sessionToken { authentication.append(("X-Amz-Security-Token", token)) }
        let canonicalRequest = Self.canonicalRequest(request, query: request.query + authentication, headers: headers, payloadHash: payload.hash)
        let stringToSign = stringToSign(canonicalRequest, time: time)
        let signature = signature(of: stringToSign, time: time)
        let encodedQuery = Self.encodeQuery(request.query + authentication + [("X-Amz-Signature", signature)])
        return QuerySignature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature, encodedQuery: encodedQuery)
    }

    /// The key that signs every request of one day, region and service.
    public func signingKey(date: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    private func scope(_ time: SigV4Time) -> String { "\(time.date)/\(region)/\(service)/aws4_request" }

    private func stringToSign(_ canonicalRequest: String, time: SigV4Time) -> String {
        [Self.algorithm, time.dateTime, scope(time), Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))].joined(separator: "\n")
    }

    private func signature(of stringToSign: String, time: SigV4Time) -> String {
        Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(date: time.date)))
    }
}

/// Why a request could not be signed.
public enum SigV4Error: Error, Equatable, Sendable, CustomStringConvertible {
    /// A presigned URL must live 1 … 604800 seconds.
    case expiryOutOfRange(Int)

    public var description: String {
        switch self {
        case .expiryOutOfRange(let seconds): "presigned URL expiry \(seconds)s is outside 1…\(SigV4Signer.presignedExpiryMax)s"
        }
    }
}

extension SigV4Signer {
    /// RFC 3986 percent-encoding as SigV4 wants it: `A-Z a-z 0-9 - . _ ~` kept, every other
    /// UTF-8 byte `%XX` with upper-case hex; `/` kept only when `keepSlash`.
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let hexDigits = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            let unreserved =
                (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            if unreserved || (keepSlash && byte == 0x2F) {
                out.append(byte)
            } else {
                out += [0x25, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical URI of an S3 path: every segment encoded once, `/` kept, no normalisation.
    public static func encodePath(_ path: String) -> String {
        path.isEmpty ? "/" : uriEncode(path, keepSlash: true)
    }

    /// `name=value` pairs, encoded, in the order given.
    static func encodeQuery(_ items: [(name: String, value: String)]) -> String {
        items.map { "\(uriEncode($0.name, keepSlash: false))=\(uriEncode($0.value, keepSlash: false))" }.joined(separator: "&")
    }

    /// Encoded pairs sorted by name, then value (byte order of the encoded text).
    static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        items
            .map { (name: uriEncode($0.name, keepSlash: false), value: uriEncode($0.value, keepSlash: false)) }
            .sorted { ($0.name, $0.value) < ($1.name, $1.value) }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")
    }

    /// Lower-cased names, sorted; values trimmed with inner whitespace runs collapsed to one
    /// space; repeated names joined with `,`. Returns the header block (each line ending in a
    /// newline) and the `;`-joined names.
    /// The canonical request: method, encoded path, canonical query, header block, signed header
    /// names and payload hash, one per line.
    static func canonicalRequest(
        _ request: Request, query: [(name: String, value: String)], headers: (block: String, signed: String), payloadHash: String
    ) -> String {
        [request.method, request.encodedPath, canonicalQuery(query), headers.block, headers.signed, payloadHash].joined(separator: "\n")
    }

    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (block: String, signed: String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            values[name.lowercased(), default: []].append(
                value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
            )
        }
        let names = values.keys.sorted()
        let block = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]] }
        return String(decoding: out, as: UTF8.self)
    }
}

/// `20150830` and `20150830T123600Z` of an instant, in UTC.
struct SigV4Time {
    let date: String
    let dateTime: String

    init(_ now: Date) {
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        date = pad(year, 4) + pad(month, 2) + pad(day, 2)
        dateTime = date + "T" + pad(secondOfDay / 3_600, 2) + pad(secondOfDay / 60 % 60, 2) + pad(secondOfDay % 60, 2) + "Z"
    }
}
