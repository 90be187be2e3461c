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
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
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

    /// `error: message` on standard error, exit status 1.
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

/// A warning on standard error (`warning: …`), for deprecated spellings and recoverable oddities.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
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
