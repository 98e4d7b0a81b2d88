import Foundation
import RoostBinary
import RoostTestSupport
import Testing

@testable import RoostAPI

/// The one JSON string writer behind log lines and hand-written responses.
@Suite struct JSONQuotingTests {
    func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        JSONText.appendQuoted(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func everyControlQuoteAndBackslashIsEscaped() {
        #expect(quoted("") == #""""#)
        #expect(quoted("plain") == #""plain""#)
        #expect(quoted("a\"b\\c\nd\re\tf") == #""a\"b\\c\nd\re\tf""#)
        #expect(quoted("\u{0}\u{1}\u{1F}") == #""\u0000\u0001\u001f""#)
        #expect(quoted("\"") == #""\"""#)
        #expect(quoted("✓ 🏠 \u{7F}") == "\"✓ 🏠 \u{7F}\"")
    }

    /// Random text of every kind of character reads back exactly through a JSON parser.
    @Test func randomTextRoundTrips() throws {
        var generator = SeededGenerator(seed: testSeed())
        let alphabet: [Character] = ["a", "Z", " ", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1B}", "é", "✓", "🏠", "/", "<", "\u{2028}"]
        for _ in 0..<500 {
            let text = String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            let json = "[" + quoted(text) + "]"
            let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]
            #expect(parsed == [text], "\(json)")
        }
    }
}

/// Base64url (RFC 4648 §5, unpadded): the cursors and tokens the API hands out.
@Suite struct Base64URLTests {
    @Test func knownVectors() {
        // RFC 4648 §10's vectors, unpadded.
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors { #expect(Base64URL.encode(Array(plain.utf8)) == encoded) }
        #expect(Base64URL.encode([0xFB, 0xFF, 0xBF]) == "-_-_", "the URL alphabet's last two digits")
    }

    @Test func randomBytesMatchFoundationAndRoundTrip() {
        var generator = SeededGenerator(seed: testSeed())
        for _ in 0..<500 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let encoded = Base64URL.encode(bytes)
            let foundation = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(encoded == foundation)
            #expect(Base64URL.decode(encoded) == bytes)
        }
    }
}
