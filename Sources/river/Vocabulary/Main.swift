import ArgumentParser
import Foundation
import LinearAlgebra

extension River {
    /// Parses the command line and runs the chosen subcommand, reporting failures the one way docs/cli.md
    /// describes:
    /// - argument errors (ArgumentParser's own, and `ValidationError` thrown by `validate()` or `run()`)
    ///   print the message and the usage line, exit 64;
    /// - a `RiverError` (a runtime failure: missing or corrupt file, write error, divergence) and
    ///   Foundation's file errors print `error: <description>` alone and exit 1;
    /// - anything else (`ExitCode`, `CleanExit`, help requests, a foreign error) is reported by
    ///   ArgumentParser as before.
    static func runMain(_ arguments: [String]? = nil) -> Never {
        var command: ParsableCommand
        if let direct = parseLeafDirectly(arguments ?? Array(CommandLine.arguments.dropFirst())) {
            command = direct
        } else {
            do {
                command = try parseAsRoot(arguments)
            } catch {
                exit(withError: error)
            }
        }
        do {
            try command.run()
            exit()
        } catch let e as RiverError {
            fail(e.description)
        } catch let e as CocoaError {
            fail(e.localizedDescription)   // a file Foundation could not read or write
        } catch {
            // ValidationError (with usage), ExitCode, CleanExit, and ArgumentParser's own help requests,
            // which `river help …` throws from run().
            exit(withError: error)
        }
    }

    /// The subcommand of a plain command line (`river simulate …`: leading subcommand names down to a
    /// leaf, then no help, version or completion request), parsed as that leaf alone; nil, to take the
    /// root parse, otherwise and whenever the leaf parse fails (the root parse then reports the error in
    /// the subcommand's context, with its usage line).
    ///
    /// Why: parsing from the root instantiates the argument sets of the whole command tree (ArgumentParser
    /// checks every subcommand for passthrough arguments and completion requests), ≈ 7 ms of a 60 ms
    /// `river simulate`. The leaf's `validate()` runs either way; warnings it prints during a failed
    /// direct parse are held back, since the root parse prints them again.
    static func parseLeafDirectly(_ arguments: [String]) -> ParsableCommand? {
        var leaf: ParsableCommand.Type = River.self
        var rest = arguments[...]
        while let word = rest.first,
              let sub = leaf.configuration.subcommands.first(where: { $0._commandName == word }) {
            leaf = sub
            rest = rest.dropFirst()
        }
        let requests: Set<String> = ["-h", "--help", "-help", "help", "--version", "--experimental-dump-help"]
        guard leaf != River.self, leaf.configuration.subcommands.isEmpty,
              !rest.contains(where: { requests.contains($0) || $0.hasPrefix("--generate-completion") }) else { return nil }
        Warnings.holding = true
        defer { Warnings.holding = false }
        guard let command = try? leaf.parse(Array(rest)) as? ParsableCommand else {
            Warnings.held.removeAll()
            return nil
        }
        for message in Warnings.held { FileHandle.standardError.write(Data("warning: \(message)\n".utf8)) }
        Warnings.held.removeAll()
        return command
    }

    /// `error: message` on standard error, exit status 1.
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

/// A warning on standard error (`warning: …`), for deprecated spellings and recoverable oddities.
func warn(_ message: String) {
    if Warnings.holding { Warnings.held.append(message); return }
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

/// Warnings held back while `parseLeafDirectly` tries a parse it may abandon (single-threaded: parsing
/// happens before any command runs).
enum Warnings {
    nonisolated(unsafe) static var holding = false
    nonisolated(unsafe) static var held: [String] = []
}

/// Merges a deprecated, hidden option spelling into its vocabulary name: warns (naming the new flag) when
/// the old one was given, and refuses both at once. Returns the value to use.
///
///     decayOf = try Deprecated.merge(old: "--convention", oldValue: convention, new: "--decay-of", newValue: decayOf)
enum Deprecated {
    static func merge<T>(old: String, oldValue: T?, new: String, newValue: T?) throws -> T? {
        guard let oldValue else { return newValue }
        if newValue != nil {
            throw ValidationError("\(old) is the deprecated spelling of \(new); give only \(new)")
        }
        warn("\(old) is deprecated; use \(new)")
        return oldValue
    }

    /// For a new option with a default value (ArgumentParser cannot tell a default from an explicit value):
    /// the old spelling's value, when given, replaces it, with the warning.
    static func merge<T>(old: String, oldValue: T?, new: String, into value: inout T) {
        guard let oldValue else { return }
        warn("\(old) is deprecated; use \(new)")
        value = oldValue
    }
}
