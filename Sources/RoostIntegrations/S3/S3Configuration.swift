import Foundation

/// Where and as whom ``S3ObjectStore`` stores objects: any S3-compatible service (AWS S3,
/// Cloudflare R2, MinIO, moto …).
public struct S3Configuration: Sendable, Equatable, CustomStringConvertible {
    /// How the bucket is named in a request's URL.
    public enum AddressingStyle: String, Sendable, Equatable {
        /// `https://endpoint/bucket/key`: works with every endpoint, IP addresses included.
        case path
        /// `https://bucket.endpoint/key`: AWS's default; needs a DNS name endpoint.
        case virtualHost
    }

    /// The service's base URL without the bucket, e.g. `https://s3.eu-west-1.amazonaws.com`
    /// or `http://127.0.0.1:9000`. No path, query or user info.
    public var endpoint: String
    /// The signing region, e.g. `eu-west-1` (`auto` for R2, `us-east-1` for most stand-ins).
    public var region: String
    public var bucket: String
    public var accessKeyID: String
    public var secretAccessKey: String
    /// The session token of temporary (STS) credentials.
    public var sessionToken: String?
    public var addressingStyle: AddressingStyle
    /// How long one request may take, from connecting to the last byte of the answer. A server
    /// that refuses connections is retried until then (AsyncHTTPClient's pool does), and then
    /// reported as ``S3Error/transport(operation:reason:)``.
    public var requestTimeout: Duration
    /// The largest object ``S3ObjectStore/get(key:)`` reads.
    public var objectBytesMax: Int

    public init(
        endpoint: String,
        region: String,
        bucket: String,
        accessKeyID: String,
        secretAccessKey: String,
        sessionToken: String? = nil,
        addressingStyle: AddressingStyle = .path,
        requestTimeout: Duration = .seconds(30),
        objectBytesMax: Int = 64 << 20
    ) {
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.addressingStyle = addressingStyle
        self.requestTimeout = requestTimeout
        self.objectBytesMax = objectBytesMax
    }

    /// The credentials to sign with.
    public var credentials: AWSCredentials {
        AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken)
    }

    /// Everything but the secret and the session token, so a configuration can be logged.
    public var description: String {
        "S3Configuration(endpoint: \(endpoint), region: \(region), bucket: \(bucket), accessKeyID: \(accessKeyID), "
            + "addressingStyle: \(addressingStyle.rawValue), sessionToken: \(sessionToken == nil ? "none" : "set"))"
    }
}

/// The parts of a validated endpoint that requests are built from.
struct S3Endpoint: Sendable, Equatable {
    var scheme: String
    /// The URL's host; IPv6 addresses in brackets.
    var host: String
    /// Only when it is not the scheme's default.
    var port: Int?

    init(_ text: String) throws(S3Error) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let rawHost = components.host, !rawHost.isEmpty
        else {
            throw .invalidConfiguration("endpoint \(text) is not an http(s) URL with a host")
        }
        guard components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil,
            components.user == nil, components.password == nil
        else {
            throw .invalidConfiguration("endpoint \(text) must be scheme://host[:port] only")
        }
        self.scheme = scheme
        self.host = rawHost.contains(":") && !rawHost.hasPrefix("[") ? "[\(rawHost)]" : rawHost.lowercased()
        let defaultPort = scheme == "https" ? 443 : 80
        self.port = components.port.flatMap { $0 == defaultPort ? nil : $0 }
    }

    /// True for IPv4 and IPv6 literals, which cannot carry a bucket subdomain.
    var isIPAddress: Bool {
        host.hasPrefix("[") || host.split(separator: ".").allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    /// `host` or `host:port`, as the Host header and the URL carry it.
    func authority(prefix: String? = nil) -> String {
        let name = prefix.map { "\($0).\(host)" } ?? host
        return port.map { "\(name):\($0)" } ?? name
    }
}
