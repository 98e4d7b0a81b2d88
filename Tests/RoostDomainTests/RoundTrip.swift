import RoostBinary
import RoostDomain
import Testing

/// Writes with `write`, reads it back with `read`, and expects every byte to be read.
func roundTrip<T>(_ write: (inout ByteWriter) -> Void, _ read: (inout ByteReader) throws(DecodeError) -> T) throws -> T {
    var writer = ByteWriter()
    write(&writer)
    return try writer.bytes.withUnsafeBytes { buffer in
        var reader = ByteReader(buffer)
        let value = try read(&reader)
        let atEnd = reader.isAtEnd
        #expect(atEnd)
        return value
    }
}

/// An event through its binary form.
func roundTrip<Event: EventCoding>(_ event: Event) throws -> Event {
    try roundTrip({ event.encode(into: &$0) }, { reader throws(DecodeError) in try Event.decode(from: &reader) })
}

/// An aggregate's state through its snapshot form.
func roundTrip<A: Aggregate>(state: A.State, of _: A.Type) throws -> A.State {
    try roundTrip({ A.encode(state: state, into: &$0) }, { reader throws(DecodeError) in try A.decodeState(from: &reader) })
}
