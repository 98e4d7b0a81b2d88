import Foundation
@testable import RoostAPI
import Testing

/// The search parameters' own trim removes what Foundation's `.whitespaces` trim removes, and
/// nothing else (newlines stay, so "wifi\n" is still not a catalogue code).
struct SearchParametersTrimTests {
    @Test(arguments: [
        "", " ", "\t", "wifi", " wifi ", "\twifi\t", "  kitchen  ,", "\u{00A0}wifi\u{2003}", "\u{3000} pool \u{3000}",
        "wifi\n", "\nwifi", " a b ", "103.9 ", " -1.35", "é ", " 🏠 ", "\u{200B}wifi",
    ])
    func trimsAsFoundationDoes(text: String) {
        #expect(String(SearchParameters.trimmed(Substring(text))) == text.trimmingCharacters(in: .whitespaces))
        let inner = Substring("x" + text + "x").dropFirst().dropLast()
        #expect(String(SearchParameters.trimmed(inner)) == text.trimmingCharacters(in: .whitespaces), "a slice of a larger string")
    }

    /// Every scalar of the Basic Multilingual Plane (and the first supplementary ones): trimmed
    /// away alone exactly when Foundation trims it.
    @Test func agreesWithFoundationOnEveryScalar() {
        var differing: [UInt32] = []
        for value in UInt32(0)...0x1_0FFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = "a" + String(Character(scalar)) + "b"
            let alone = String(Character(scalar))
            if SearchParameters.trimmed(Substring(alone)).isEmpty != alone.trimmingCharacters(in: .whitespaces).isEmpty
                || SearchParameters.trimmed(Substring(text)) != Substring(text) {
                differing.append(value)
            }
        }
        #expect(differing.isEmpty, "\(differing.prefix(20).map { String($0, radix: 16) })")
    }
}
