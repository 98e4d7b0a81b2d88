import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import NIOCore
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostIntegrations

// Shared by the Google and Facebook verifier tests: RSA test keys, a settable clock, token
// signing and a local stand-in server on a free port.

/// Two 2048-bit RSA keys made with `openssl genrsa 2048` for these tests only.
enum IdentityTestKeys {
    static let first = try! Insecure.RSA.PrivateKey(pem: firstPEM)
    static let second = try! Insecure.RSA.PrivateKey(pem: secondPEM)

    static let firstPEM = """
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDJ+1yoMGawNlsS
8SyjAl6gyPK5NHy/H9ex603zdL6EI8tFGjL7+66b2zu/GynUSrOtqNcBbqurjY+o
o6Fq5CM+4mJw+yPJVt6wyCFrLpPVHtFhOdEFlUxkHRk1Cf9t9Tmvp78f05Y3tlj2
wBrgJB+o0bLj5kp1YvR51mNmQ58jRTaYhPMQu4j1OOotXI/9yhqmZrXbaIHBRUkX
TOm5r5l5DFShd2QVhEYZBf/GYAvMzSzEcIinIbI9QDBG6Gwps04u0ZpSraPEFZHI
xz0JKGBITxSHpPz9K7LhZNpXAb0oP/mz0Tn2aykNP5mI2QpQQCUc+/VR/rJTdcSh
qb7sB4erAgMBAAECggEABvrGqDvemzblosaZZ5tMsHsBLYvgxldQBCKWHlQ/GSCG
L6xzbT20j5zdzawfSpS3l3KpgK/VrXybeupcnkL6l3u0hyRGh6NBgr5dA+/SGp/m
qwNtHlJFwi03PRv2qv1kXEDhsTSF5lrzbA4WClTKkJzedP2fk7rdqTAoCH/3CdLq
BV16xJeMDBpXSCANwKcQeo1sWOLsQdbZ0OokTnfzcqioQVDVQ07t3fSK6+98GVnM
JuUm3K87E79DzXfgX9RlvvFbZt3fyymILbp9w0UN1MLPXi0Q6NUdSEycKRewEB7Y
QDi+VnaNpZgKPKze1ky6DbNN/YBhlhRd5gNcjyMUoQKBgQD3x1xI4fz8Bvpltq8/
RsD1plLgIta4HSB39ofyZJEMSLj7UsIM1JWqCHALDAheewSpdfzhXfFbFTkuFgQ4
Vq8vCwMOYV3pziR10TIs6iNikccT8YJqkVEmPry5MnF7bDgcw70Zae/JBGfpbose
Gn7UUKhxGPvM/jD9PXPYXOACmQKBgQDQrwBoO+WXJNY2aaOu1f3wSot7LYlLGZTE
MUczs+TVsS4rCgHXgF0ud0GHQA/Hc1SW0mlbQ/p8DEGKDwPyccn9wRxHo/930+E1
EgiSrDpysY9yzAtQRCLOpGb3RqTGZA7BFaWCiCk4Oj03vxF2lyucCP0c4zV9lbUR
lCXvUe1K4wKBgC2WlpoqSjuspQF13USNJg+MbI8kmdECOukXiOfGLRHPh4lmLqHh
sy+3obXGnvuTMsZjGQX2HOQfQYgDMP+Uo2LKaeOJcpgD/51Vwh+VbLFEFRbMRqyI
1B9vR5XjfBGzVZelQ/ObFC0uDFhcqGf/g/pYZMV6TUnoMudFGT1jyStxAoGBALk8
/oGH2Y7Gthdqwk7pyRXJNfLLQvmU5YcZrvhoERLWygKOSYA/g3dBiLtD1D3ZVBbl
A3xt5STDxFGGbpyBASnshuvY2WZGf7waG94GX4N7tbfTA5/mO3duW6/X11/7ZVVj
n500vFIa8EhRpHC+U4mYOQWxccPeZfIKrXm4IYi9AoGBALUbFjGkcQ0/Sybdbh1G
EmahrQHN7yx8XmssNZA2Okuvr7GV1xBkI5VtpJNb5vb6CvsU0nsXrOKxfOq/MYv6
hcAEDwMou98LwzPpb4uHmJrS8NeRHlkhFm3ct7/3eRvMoah7GaPjNqz3YjUth7B1
aVjqCUOgjE5P1Y8fd4+BtQ2X
-----END PRIVATE KEY-----
"""

    static let secondPEM = """
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDOV1A4Fmu7NBNB
Ws4m/8f489dtimh+rmb2sAcOnHNKiZ21Q+VOm9qwPSBwlSAagPxIZGHQzflZw/Mi
9iXGx6IHK2msX8OvL0+qVfg7ykjdTrkUA96EYAcpg33sCCZgnr2mftcI2wbfAQ1M
jClLFNuUnuzYDeO9pKgvcT8cX7wAYX7IPyKqjBpwspGXDpeZ2awOP4do+ZIOgkfr
J67R6RlEYZwV6mRMGJQS6R4g88239Qygk7I0aRWNyzaWzb4ib+9E77Av+SVSJ3OC
0dynM4bAa4i+1Liohs3rQlG/Xv6JbK4HajTgjUNt2Mql1meRhGG045SoxRl1dN0W
Mkkb8g4NAgMBAAECggEAB/WWQpOa1D3OAFdgXGDBdfjx9mfAYCKaFin0G7wtNlLY
ooVb8wxQAzxYY/9cnakcEi7NFyDa3XuRhWe5TVGmDmC+Usfe5IMOr6NhT+0domvG
996uVqzdmdxYnyIxWMjGyAVchhrsyO1hdfJyJVNIpRL8T9k5T7dqRWo45P9MYTdP
x0oB7EdvTz15Q7oAulstLs+eNGfE4KOyzEhW0vFhjx2s5c4TXR5R5H+8nESyoSit
yolujlMqtHPROz2ZRm1o3j2gab15zq3aQTUShVRGMiA2I6iWMQAs/7ILcXdZq6Yq
0g6SpEwM7Ap8QAl2nQg4Ky4RMlgdBtzRzk1NZEkIAQKBgQD1vVrfFf9zxHEOXzrn
DCQFJ0jiCpQcU5QQ5qdZ1om1YnksoZHnT1Tw0elJWFe0yTK88DUvEIodFrw0Z/Hm
rUl/qNE4NZIjzWIDTOSyUU+YMDyi01UMsmM5lY3o37bxlOP5ss7sw9LwSJiaicQX
F6cYd230w1bUF2H3l0UoyoYqEQKBgQDW9NZefOsSjcv+PFtW/4rDDixqodeOzYFP
UsQRaLgMVqTJ1hHjjMvW0Qlwu4Pnu2LSmpMPURBItMckTcMUnpmLmDiHb0Y9230+
E/ghLlDxJ9aRRlymIT20wL0A0mlabHL8aLf4bd93l4nhRZ6aWZPZGS6zTC8lEOzA
uVh/wJGIPQKBgQCvw5cqdxZ2nCvtBqoftexRj06u9rgHJrSB/if2tt9aUCuxg4LT
Okfb05gTcM+SrFHRF9JCbocK1UcaCLrZrloiqAG1PYPgfbc7+xScglH23ZGROKzd
Xv5fopuU0+aLFl6VK5KbgFjwqkwURLNvfOh0NH/+EHWbT3ov2A+MZIbfsQKBgFHx
PbMBXb9R7Jy7N3qfqa8XvRjdH0Yh0xSBEZstV1Pkx6blgyZCawY146pk4TC6fz6X
jE3/cfy1ZWDSf/ZhS1kqqwn+AkHcZQ8AH8vOUy7LKAFzWChAbbx06NfiXiUJSIAu
D0uV3uVBEF+e4YoncbQF5IaXGTXBEO+a+ECjERdlAoGAWDdcQl7O8GLiHiawVDG/
URWPlH5+1Sa8MHkkdxTgtNhkGMiQIHTHYHQc6fU9/okjb4I5V3ZvXJAQfRX7gf9y
iJnT0MSToGrdDbwoITY1/NWkKcafXw/D7PrXMssPjy0nOZxy1BIztNSkEeD3J4Wd
o8GvtDQScCHeByiDAekstYw=
-----END PRIVATE KEY-----
"""
}

/// A clock that moves only when told to, for `exp` and cache expiry.
final class IdentityTestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_750_000_000))

    var now: Date { current.withLock { $0 } }
    var read: @Sendable () -> Date { { self.now } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

/// The claims of a Google-style ID token, as a test writes them.
struct IdentityTestClaims: JWTPayload {
    var iss = "https://accounts.google.com"
    var aud = "roost-web.apps.googleusercontent.com"
    var sub = "110169484474386276334"
    var exp: Int
    var iat: Int
    var email: String? = "ada@example.com"
    var email_verified: Bool? = true
    var name: String? = "Ada Lovelace"

    /// A token valid for an hour from `now`.
    init(now: Date) {
        iat = Int(now.timeIntervalSince1970)
        exp = iat + 3600
    }

    func verify(using _: some JWTAlgorithm) async throws {}
}

enum IdentityTestTokens {
    /// An RS256 token signed with `key`, naming `kid` in its header.
    static func rs256(_ claims: IdentityTestClaims, key: Insecure.RSA.PrivateKey, kid: String) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(rsa: key, digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        return try await keys.sign(claims, kid: JWKIdentifier(string: kid))
    }

    /// An HS256 token keyed with `secret`, naming `kid` in its header.
    static func hs256(_ claims: IdentityTestClaims, secret: String, kid: String) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        return try await keys.sign(claims, kid: JWKIdentifier(string: kid))
    }

    /// A token built by hand: any header, the claims, any signature bytes.
    static func raw(header: String, _ claims: IdentityTestClaims, signature: [UInt8] = []) throws -> String {
        let payload = try JSONEncoder().encode(claims)
        return [Base64URL.encode(Data(header.utf8)), Base64URL.encode(payload), Base64URL.encode(signature)].joined(separator: ".")
    }

    /// A JWKS document publishing the public halves of `keys` for RS256, plus any `extra` entries.
    static func jwks(_ keys: [(kid: String, key: Insecure.RSA.PrivateKey)], extra: [[String: String]] = []) throws -> String {
        var entries = extra
        for (kid, key) in keys {
            let (modulus, exponent) = try key.publicKey.getKeyPrimitives()
            entries.append([
                "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": Base64URL.encode(modulus), "e": Base64URL.encode(exponent),
            ])
        }
        return String(decoding: try JSONEncoder().encode(["keys": entries]), as: UTF8.self)
    }
}

/// Runs `router` on 127.0.0.1 at a free port while `body` runs with its base URL, then stops it.
func withStandIn<Value: Sendable>(
    _ router: Router<BasicRequestContext>,
    _ body: (String) async throws -> Value
) async throws -> Value {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in
            continuation.yield(channel.localAddress?.port ?? 0)
            continuation.finish()
        },
        logger: quietLogger
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService(gracefulShutdownSignals: []) }
        defer { group.cancelAll() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        return try await body("http://127.0.0.1:\(port)")
    }
}

/// A base URL where nothing listens: a server is started on a free port and stopped again.
func closedPortURL() async throws -> String {
    try await withStandIn(Router()) { $0 }
}

/// A JSON response.
func jsonResponse(_ json: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: json)))
}

/// What `verify` came to, as a comparable value.
func outcome(_ verifier: some IdentityVerifier, _ token: String) async -> Result<VerifiedIdentity, IdentityError> {
    do throws(IdentityError) {
        return .success(try await verifier.verify(token))
    } catch {
        return .failure(error)
    }
}

extension Result<VerifiedIdentity, IdentityError> {
    var isSuccess: Bool { if case .success = self { true } else { false } }
    var isInvalidToken: Bool { if case .failure(.invalidToken) = self { true } else { false } }
    var isUnavailable: Bool { if case .failure(.unavailable) = self { true } else { false } }
}
