import ArgumentParser

/// A typed name from a library catalog (landscapes, river profiles, model presets): parsed and listed in
/// `--help` from the catalog itself, so the allowed values cannot drift from what the library accepts.
protocol CatalogName: ExpressibleByArgument, CaseIterable, Sendable, CustomStringConvertible {
    /// The catalog's names, in the order `--help` lists them.
    static var catalog: [String] { get }
    var rawValue: String { get }
    init(unchecked rawValue: String)
}

extension CatalogName {
    init?(argument: String) {
        guard Self.catalog.contains(argument) else { return nil }
        self.init(unchecked: argument)
    }
    static var allCases: [Self] { catalog.map(Self.init(unchecked:)) }
    static var allValueStrings: [String] { catalog }
    var defaultValueDescription: String { rawValue }
    var description: String { rawValue }
}
