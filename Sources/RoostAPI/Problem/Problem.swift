import Foundation
import RoostDomain
import RoostIntegrations
import HTTPTypes
import Hummingbird
import NIOCore
import RoostEngine
import RoostStorage

/// An error as the client sees it: RFC 9457 problem details with Roost's stable `code`.
public struct Problem: Error, Sendable, Equatable {
    public struct FieldError: Codable, Sendable, Equatable {
        public var field: String
        public var message: String
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public var status: HTTPResponse.Status
    public var code: String
    public var title: String
    public var detail: String
    public var errors: [FieldError]
    /// Seconds, for 429 and 503.
    public var retryAfter: Int?

    public init(
        _ status: HTTPResponse.Status, code: String, title: String, detail: String, errors: [FieldError] = [],
        retryAfter: Int? = nil
    ) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.retryAfter = retryAfter
    }

    public static func malformed(_ detail: String) -> Problem {
        Problem(.badRequest, code: "malformed_request", title: "Malformed request", detail: detail)
    }

    public static func validation(_ errors: [FieldError], detail: String = "The request is well-formed but some fields are invalid.") -> Problem {
        Problem(.unprocessableContent, code: "validation_failed", title: "Validation failed", detail: detail, errors: errors)
    }

    public static func notFound(_ detail: String = "No such resource.") -> Problem {
        Problem(.notFound, code: "not_found", title: "Not found", detail: detail)
    }

    public static let unsupportedMediaType = Problem(
        .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type",
        detail: "Send the body as application/json."
    )

    public static func payloadTooLarge(limit: Int) -> Problem {
        Problem(.contentTooLarge, code: "payload_too_large", title: "Payload too large", detail: "The body exceeds the \(limit)-byte limit.")
    }

    /// 402 `payment_failed`.
    public static func paymentFailed(_ detail: String) -> Problem {
        Problem(HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"), code: "payment_failed", title: "Payment failed", detail: detail)
    }

    public static func unavailable(_ detail: String, retryAfter: Int? = nil) -> Problem {
        Problem(.serviceUnavailable, code: "unavailable", title: "Service unavailable", detail: detail, retryAfter: retryAfter)
    }
}

extension Problem {
    /// The one mapping from any error to what the client sees. Bad input never becomes a 500.
    static func from(_ error: any Error) -> Problem? {
        switch error {
        case let problem as Problem:
            return problem
        case is PasswordHasher.Busy:
            return .unavailable("Too many sign-ins are being checked; retry shortly.", retryAfter: 1)
        case let error as EngineError:
            switch error {
            case .overloaded: return .unavailable(error.description, retryAfter: 1)
            case .snapshotInProgress: return Problem(.conflict, code: error.code, title: "Conflict", detail: error.description)
            default: return .unavailable("Not accepting writes; the server needs a restart to recover from disk.")
            }
        case let error as StorageError:
            if case .overloaded = error { return .unavailable("Too many writes are waiting for the disk.", retryAfter: 1) }
            return .unavailable("Not accepting writes; the server needs a restart to recover from disk.")
        case let error as DecodingError:
            return fromDecoding(error)
        case is NIOTooManyBytesError:
            return Problem(.contentTooLarge, code: "payload_too_large", title: "Payload too large", detail: "The body is larger than this endpoint accepts.")
        case let error as HTTPError:
            return fromHTTPError(error)
        case let rejection as Ledger.Rejection:
            // A money step that no longer fits the payment's state: another request got there first.
            return Problem(.conflict, code: "payment_conflict", title: "Conflict", detail: "The payment changed meanwhile (\(rejection)); read the booking again.")
        case let error as GatewayError:
            switch error {
            case .declined: return .paymentFailed("The payment provider declined.")
            case .unavailable: return .unavailable("The payment provider is unavailable; try again.", retryAfter: 5)
            default: return Problem(.badGateway, code: "payment_provider_error", title: "Payment provider error", detail: "The payment provider refused the operation.")
            }
        default:
            return nil
        }
    }

    private static func fromHTTPError(_ error: HTTPError) -> Problem {
        switch error.status {
        case .notFound: return .notFound(error.body ?? "No route matches this method and path.")
        case .contentTooLarge:
            return Problem(.contentTooLarge, code: "payload_too_large", title: "Payload too large", detail: "The body is larger than this endpoint accepts.")
        case .unsupportedMediaType: return .unsupportedMediaType
        case .methodNotAllowed:
            return Problem(.methodNotAllowed, code: "method_not_allowed", title: "Method not allowed", detail: error.body ?? "")
        default:
            let code = error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            return Problem(error.status, code: code, title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase)
        }
    }

    private static func fromDecoding(_ error: DecodingError) -> Problem {
        func path(_ context: DecodingError.Context, _ key: (any CodingKey)? = nil) -> String {
            let keys = context.codingPath + (key.map { [$0] } ?? [])
            return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case let .dataCorrupted(context) where context.codingPath.isEmpty:
            return .malformed("The body is not valid JSON.")
        case let .dataCorrupted(context):
            return .validation([FieldError(field: path(context), message: context.debugDescription)])
        case let .keyNotFound(key, context):
            return .validation([FieldError(field: path(context, key), message: "is required")])
        case let .valueNotFound(_, context):
            return .validation([FieldError(field: path(context), message: "must not be null")])
        case let .typeMismatch(type, context):
            return .validation([FieldError(field: path(context), message: "must be \(Problem.jsonTypeName(type))")])
        @unknown default:
            return .malformed("The body could not be decoded.")
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type, is UInt64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is [String: Any].Type: "an object"
        case is [Any].Type: "an array"
        default: "a different JSON value"
        }
    }
}

/// The body of an `application/problem+json` response.
struct ProblemBody: Encodable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var code: String
    var requestId: String
    var errors: [Problem.FieldError]?

    init(_ problem: Problem, requestID: String) {
        type = "https://roost.dev/problems/\(problem.code.replacingOccurrences(of: "_", with: "-"))"
        title = problem.title
        status = problem.status.code
        detail = problem.detail
        code = problem.code
        requestId = requestID
        errors = problem.errors.isEmpty ? nil : problem.errors
    }
}
