/// Bad input to the bigram toolkit: every case names the bad value and what is allowed.
public enum BigramError: Error, CustomStringConvertible, Equatable {
    case invalid(String)

    public var description: String {
        switch self {
        case let .invalid(message): return message
        }
    }
}

@inline(__always)
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw BigramError.invalid(message()) }
}
