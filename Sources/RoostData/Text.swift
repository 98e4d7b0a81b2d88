extension StringProtocol {
    /// The text without leading and trailing Unicode white space (line breaks and no-break spaces
    /// included). Pure Swift: Foundation's trimming goes through UTF-16 and is several times slower.
    var trimmedWhitespace: String {
        let text = String(self)
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        if first == scalars.startIndex, last == scalars.index(before: scalars.endIndex) { return text }
        return String(scalars[first...last])
    }
}
