/// The S3 operations ``S3ObjectStore`` performs, named as in the S3 API.
public enum S3Operation: String, Sendable, Equatable {
    case putObject = "PutObject"
    case getObject = "GetObject"
    case deleteObject = "DeleteObject"
    case createBucket = "CreateBucket"
}

/// Why an ``S3ObjectStore`` call failed. Messages never contain credentials or signatures.
public enum S3Error: Error, Equatable, Sendable, CustomStringConvertible {
    /// The ``S3Configuration`` cannot work (bad endpoint, bucket name, addressing style).
    case invalidConfiguration(String)
    /// An argument is out of range, e.g. a presigned URL expiry over seven days.
    case invalidArgument(String)
    /// The service answered with a status the operation does not expect. `code` is the
    /// `<Code>` of S3's XML error body when it has one (`NoSuchBucket`, `AccessDenied`,
    /// `SignatureDoesNotMatch` …), `message` its `<Message>`.
    case unexpectedResponse(operation: S3Operation, status: Int, code: String?, message: String?)
    /// No complete answer within the configured ``S3Configuration/requestTimeout``.
    case timedOut(operation: S3Operation, after: Duration)
    /// The request did not get an answer: connection refused or reset, DNS, TLS …
    case transport(operation: S3Operation, reason: String)
    /// The answer's body is larger than the store reads.
    case responseTooLarge(operation: S3Operation, bytesMax: Int)

    /// S3's error code, when the service sent one.
    public var code: String? {
        if case .unexpectedResponse(_, _, let code, _) = self { code } else { nil }
    }

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): "S3 configuration: \(reason)"
        case .invalidArgument(let reason): "S3 argument: \(reason)"
        case .unexpectedResponse(let operation, let status, let code, let message):
            "S3 \(operation.rawValue): HTTP \(status)" + (code.map { " \($0)" } ?? "") + (message.map { ": \($0)" } ?? "")
        case .timedOut(let operation, let after): "S3 \(operation.rawValue): no answer within \(after)"
        case .transport(let operation, let reason): "S3 \(operation.rawValue): \(reason)"
        case .responseTooLarge(let operation, let bytesMax): "S3 \(operation.rawValue): answer over \(bytesMax) bytes"
        }
    }
}
