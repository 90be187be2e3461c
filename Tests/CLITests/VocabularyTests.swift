import Foundation
import Testing

/// The one CLI vocabulary (docs/cli.md), checked against what the built `river` binary really accepts: its
/// `--experimental-dump-help` JSON lists every (sub)command's options, with their value names, parsing
/// strategy, visibility and allowed enum values.
///
/// The test fails when
/// - an option is not in `vocabulary` below (a new flag must be added, with its meaning, here and in
///   docs/cli.md — or the existing name for its concept used instead);
/// - a name is used with another meaning: another kind (flag vs option), another value name, an untyped
///   value where the vocabulary has an enum, different enum values in two commands, or a signed value
///   that does not parse negative numbers;
/// - a synonym appears: a spelling from `synonyms` is visible, or two vocabulary entries declare one concept;
/// - a deprecated spelling is visible, or appears outside the commands that had it;
/// - a command's `--help` has no example, or an example uses a flag the command does not have or a
///   deprecated spelling.
@Suite struct VocabularyTests {
    enum Kind: String { case flag, option, positional }
    enum Typing: Equatable {
        /// A plain value (number, path, list).
        case plain
        /// A typed enum; every command offers the same values.
        case enumeration
        /// A typed enum whose allowed values depend on the command (e.g. the optimizers it implements).
        case enumerationPerCommand
    }

    /// One name of the vocabulary: its kind, the value name `--help` shows, the concept it stands for, and
    /// whether the value can be negative (then it must parse `.unconditional`).
    struct Term {
        let name: String
        let kind: Kind
        let value: String?
        let concept: String
        var typing: Typing = .plain
        var signed = false
    }

    static func option(_ name: String, _ value: String, _ concept: String, typing: Typing = .plain,
                       signed: Bool = false) -> Term {
        Term(name: name, kind: .option, value: value, concept: concept, typing: typing, signed: signed)
    }
    static func flag(_ name: String, _ concept: String) -> Term {
        Term(name: name, kind: .flag, value: nil, concept: concept)
    }

    /// The vocabulary: every flag and option of every command. Value names: `n` a count or step number,
    /// `seed` a seed, `lr` a learning rate, `length` a fraction (≤ 1) or whole steps (> 1), `ratio`,
    /// `x` a real number, `file` an input file, `dir` an input directory, `path` an output file or
    /// directory, `…,...` a comma list (`CommaList`), and the enum's own name for an enum.
    static let vocabulary: [Term] = [
        // schedules
        option("kind", "kind", "schedule family", typing: .enumeration),
        option("steps", "n", "number of optimizer steps (a schedule's length, a run's budget)"),
        option("peak", "lr", "peak learning rate", signed: true),
        option("lr", "lr", "constant learning rate of a debug run", signed: true),
        option("warmup", "length", "warmup length", signed: true),
        option("decay", "length", "decay length", signed: true),
        option("rewarmup", "length", "rewarmup length", signed: true),
        option("shape", "shape", "decay shape", typing: .enumeration),
        option("min-ratio", "ratio", "decay floor as a fraction of the peak", signed: true),
        option("decay-of", "convention", "WSD-S decay convention", typing: .enumeration),
        option("cycles", "n,...", "cycle end steps"),
        option("cycle-count", "n", "number of equal cycles"),
        option("levanter", "file", "Levanter optimizer YAML"),
        option("budgets", "n,...", "step budgets of a sweep or branch plan"),
        option("budget", "n", "step budget of one branch"),
        option("schedules", "schedule,...", "sweep schedule families (typed: CommaList<ScheduleFamily>)"),
        option("peak-grid", "lr,...", "peak learning rates a sweep tunes over", signed: true),
        option("variants", "variant,...", "extra arms of a sweep (typed: CommaList<SweepVariantName>)"),
        option("decays", "length,...", "decay lengths to compare", signed: true),
        option("fine-eval", "ratio", "validation spacing inside decay windows", signed: true),
        option("plan", "file", "a sweep's plan of jobs"),
        option("stage", "stage", "sweep stage", typing: .enumeration),
        option("job", "n", "one job of a plan"),
        option("workers", "n", "local worker processes"),
        option("shuffle", "seed", "seed of a random job order"),
        flag("collect", "build a plan's tables"),
        // seeds
        option("seed", "seed", "one seed"),
        option("seeds", "seed,...", "list of seeds"),
        option("seed-count", "n", "number of seeds from a base seed"),
        option("data-seed", "seed", "seed of a synthetic data generator"),
        // landscapes and points
        option("landscape", "landscape", "built-in landscape", typing: .enumeration),
        option("dim", "n", "landscape dimension"),
        option("hill-curvature", "x,...", "hill curvatures", signed: true),
        option("river-profile", "profile", "river profile", typing: .enumeration),
        option("river-slope", "x", "slope of the linear river profile", signed: true),
        option("power-amplitude", "x", "amplitude of the power river profile", signed: true),
        option("power-exponent", "x", "exponent of the power river profile", signed: true),
        option("amplitude", "x", "curved valley river amplitude", signed: true),
        option("wavenumber", "x", "curved valley river wavenumber", signed: true),
        option("at", "x,...", "a point of a landscape", signed: true),
        option("on-river", "x", "river coordinate of a point on the river", signed: true),
        option("start", "x,...", "start point of a simulation", signed: true),
        // optimizers
        option("optimizer", "optimizer", "optimizer algorithm", typing: .enumerationPerCommand),
        option("momentum", "x", "momentum coefficient", signed: true),
        flag("nesterov", "Nesterov momentum"),
        option("weight-decay", "x", "weight decay", signed: true),
        option("beta1", "x", "Adam beta1", signed: true),
        option("beta2", "x", "Adam beta2", signed: true),
        option("epsilon", "x", "optimizer epsilon", signed: true),
        option("clip", "x", "gradient-norm clip", signed: true),
        option("batch-size", "n", "minibatch or forward-pass size"),
        // simulation
        option("noise", "x,...", "gradient-noise standard deviations", signed: true),
        option("record-every", "n", "record every k-th step"),
        flag("top-eigenvalue", "record the top Hessian eigenvalue"),
        flag("allow-divergence", "write the rows before a divergence"),
        // spectra
        option("random-symmetric", "n", "size of a random symmetric matrix"),
        option("method", "method", "eigen-solver", typing: .enumeration),
        option("top", "n", "number of eigenvalues"),
        flag("bottom", "smallest eigenvalues"),
        option("iterations", "n", "Lanczos steps"),
        option("probes", "n", "SLQ random start vectors"),
        option("grid-points", "n", "density grid points"),
        flag("values-only", "eigenvalues without eigenvectors"),
        option("write-matrix", "path", "write the random matrix"),
        option("repeat", "n", "repeat a timed computation"),
        // bigram
        option("transitions", "file", "bigram transition matrix CSV"),
        option("frequencies", "file", "bigram context frequencies CSV"),
        option("corpus", "file", "text whose byte bigrams make the language"),
        option("vocab", "n", "vocabulary size of a synthetic language"),
        option("mix", "mix", "synthetic token-class mix"),
        option("frequency-law", "law", "synthetic context-frequency law"),
        option("model", "model", "bigram model kind", typing: .enumeration),
        option("width", "n", "factorised bigram width"),
        flag("no-bias", "factorised bigram without bias"),
        option("log-every", "n", "log every k steps"),
        option("eigen-every", "n", "top eigenvalue every k steps"),
        option("spectrum-out", "path", "write the spectrum CSV"),
        option("tokens-out", "path", "write the per-token CSV"),
        // models, runs, checkpoints
        option("config", "file", "RunConfig JSON"),
        option("model-config", "file", "TransformerConfig JSON"),
        option("preset", "preset", "transformer preset", typing: .enumeration),
        option("parameters", "file", "read model parameters"),
        option("save-parameters", "path", "write model parameters"),
        option("batch-file", "file", "JSON batch of token ids"),
        option("checkpoint", "file", "a river train checkpoint"),
        option("parent", "dir", "parent run directory of a branch"),
        option("step", "n", "checkpoint step to fork from"),
        option("precision", "precision", "arithmetic of the matrix products", typing: .enumeration),
        option("fp32-matmul", "library", "library of the fp32 linear-layer GEMMs", typing: .enumeration),
        flag("resume", "continue a run"),
        option("stop-after", "n", "stop after more steps"),
        option("text", "file", "text to evaluate on"),
        option("max-bytes", "n", "first bytes of the text"),
        option("per-token", "path", "write per-token losses"),
        option("untimed-steps", "n", "untimed benchmark steps"),
        option("threads", "n", "BLAS threads"),
        flag("sgemm-peak", "measure the sgemm peak"),
        flag("profile", "time each kernel kind"),
        flag("gemms", "time each GEMM shape"),
        // output and experiments
        option("out", "path", "the command's main output"),
        flag("json", "print JSON"),
        flag("quiet", "no progress output"),
        flag("list", "list and exit"),
        flag("full", "full experiment setting"),
        flag("force", "recompute"),
        option("tokens", "file", "token ids to evaluate on"),
        option("logits", "path", "write per-token logits"),
        option("from", "format", "format of a checkpoint to import", typing: .enumeration),
        Term(name: "<dir>", kind: .positional, value: "dir", concept: "folder of a checkpoint to import"),
        option("context-length", "n", "context length of an imported model"),
        flag("expand-gqa", "repeat key/value heads of grouped-query attention"),
        option("ignore-config-key", "key", "unknown config key to ignore"),
        option("trace-probes", "n", "Hutchinson probes for a trace"),
        option("density", "path", "write an SLQ spectral density"),
        flag("preconditioned", "Adam-preconditioned Hessian"),
        option("points", "n", "grid points on [0, 1]"),
        option("extend", "x", "grid continued beyond [0, 1]"),
        option("uncertainty", "source", "token-uncertainty source"),
        option("order", "n", "n-gram order"),
        option("buckets", "n", "number of equal-count buckets"),
        option("batches", "n", "number of minibatches drawn"),
        option("finite-difference-step", "x", "central-difference step of a Hessian-vector product"),
        option("checkpoints", "file,...", "a list of river train checkpoints"),
        option("run", "run", "a river train run directory (or, for river curve, a run file)"),
        option("runs", "run,...", "a list of runs"),
        option("schedule", "file", "exact per-step LRs of a run"),
        option("schedule-files", "file,...", "exact per-step LRs of each run"),
        option("law", "law", "a loss-curve law", typing: .enumeration),
        option("fit", "file", "a fitted loss-curve law"),
        option("shapes", "shape,...", "decay shapes to compare"),
        flag("smoke", "smoke scale of an experiment setting"),
        flag("contract", "print the figure contract"),
        Term(name: "<names>", kind: .positional, value: "names", concept: "experiment names"),
        // ArgumentParser's own
        flag("help", "help"),
        Term(name: "<subcommands>", kind: .positional, value: "subcommands", concept: "help's subcommand path"),
    ]

    /// Deprecated spellings, hidden and kept working (with a warning) in the commands that had them.
    struct Alias { let old: String; let new: String; let commands: Set<String> }
    static let deprecated: [Alias] = [
        Alias(old: "config", new: "levanter", commands: ["schedule", "simulate", "bigram train"]),
        Alias(old: "convention", new: "decay-of", commands: ["sweep"]),
        Alias(old: "params", new: "parameters", commands: ["bigram evaluate", "bigram analyze"]),
        Alias(old: "params-out", new: "save-parameters", commands: ["bigram train"]),
        Alias(old: "batch", new: "batch-size", commands: ["bigram train", "eval"]),
        Alias(old: "seeds", new: "seed-count", commands: ["simulate"]),
        Alias(old: "runs", new: "probes", commands: ["spectrum"]),
        Alias(old: "from", new: "parent", commands: ["branch"]),
    ]

    /// Spellings that must never be visible: each is a synonym of a vocabulary name.
    static let synonyms: [String: String] = [
        "eps": "epsilon", "params": "parameters", "params-out": "save-parameters", "convention": "decay-of",
        "batch": "batch-size", "batch-size-per-step": "batch-size", "bs": "batch-size", "yaml": "levanter",
        "levanter-config": "levanter", "num-seeds": "seed-count", "n-seeds": "seed-count",
        "num-steps": "steps", "iters": "iterations", "output": "out", "out-dir": "out", "output-dir": "out",
        "decay-convention": "decay-of", "decay-shape": "shape", "min-lr-ratio": "min-ratio",
        "learning-rate": "peak", "peak-lr": "peak", "ckpt": "checkpoint", "run-dir": "run", "parent-run": "parent",
        "parameters-out": "save-parameters", "weights": "parameters", "tokenizer-config": "model-config",
        "silent": "quiet", "verbose-off": "quiet",
    ]

    /// One option or flag of one command, from the dump.
    struct Occurrence {
        let command: String
        let name: String
        let kind: Kind
        let value: String?
        let visible: Bool
        let unconditional: Bool
        let allValues: [String]
    }

    struct Command { let path: String; let discussion: String; let isLeaf: Bool; let hidden: Bool }

    /// Every command and every option, walked from `river --experimental-dump-help`.
    static func dump() throws -> (commands: [Command], occurrences: [Occurrence]) {
        let r = try RiverCLI.run(["--experimental-dump-help"])
        guard r.status == 0, let root = (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["command"] as? [String: Any] else {
            throw CLITestError("river --experimental-dump-help failed (status \(r.status)): \(r.stderr)")
        }
        var commands: [Command] = [], occurrences: [Occurrence] = []
        func walk(_ c: [String: Any], _ path: String, hiddenParent: Bool) {
            let hidden = hiddenParent || (c["shouldDisplay"] as? Bool == false)
            let subs = c["subcommands"] as? [[String: Any]] ?? []
            commands.append(Command(path: path, discussion: c["discussion"] as? String ?? "", isLeaf: subs.isEmpty, hidden: hidden))
            for a in c["arguments"] as? [[String: Any]] ?? [] {
                let names = (a["names"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String == "long" ? $0["name"] as? String : nil }
                let kind = Kind(rawValue: a["kind"] as? String ?? "") ?? .option
                let valueName = a["valueName"] as? String
                let labels = kind == .positional ? ["<\(valueName ?? "")>"] : names
                for name in labels {
                    occurrences.append(Occurrence(
                        command: path, name: name, kind: kind, value: kind == .flag ? nil : valueName,
                        visible: a["shouldDisplay"] as? Bool ?? true,
                        unconditional: a["parsingStrategy"] as? String == "unconditional",
                        allValues: a["allValues"] as? [String] ?? []))
                }
            }
            for s in subs { walk(s, (path.isEmpty ? "" : path + " ") + (s["commandName"] as? String ?? "?"), hiddenParent: hidden) }
        }
        walk(root, "", hiddenParent: false)
        return (commands, occurrences)
    }

    /// The table itself has no synonyms: one entry per name and one name per concept, and no entry uses a
    /// known synonym spelling.
    @Test func vocabularyTableHasNoSynonyms() {
        var byName: [String: Term] = [:], byConcept: [String: String] = [:]
        for t in Self.vocabulary {
            #expect(byName[t.name] == nil, "'\(t.name)' is declared twice in the vocabulary")
            byName[t.name] = t
            if let other = byConcept[t.concept] {
                Issue.record("--\(other) and --\(t.name) are synonyms (both '\(t.concept)'): keep one name per concept")
            }
            byConcept[t.concept] = t.name
            if let canonical = Self.synonyms[t.name] {
                Issue.record("--\(t.name) is a synonym of --\(canonical); use --\(canonical)")
            }
        }
        for a in Self.deprecated {
            #expect(byName[a.new] != nil, "deprecated --\(a.old) points to --\(a.new), which is not in the vocabulary")
        }
    }

    /// Every option of every command is in the vocabulary and used with the vocabulary's meaning.
    @Test func everyOptionSpeaksTheVocabulary() throws {
        let (_, occurrences) = try Self.dump()
        #expect(occurrences.count > 50, "the dump lists only \(occurrences.count) options")
        let terms = Dictionary(uniqueKeysWithValues: Self.vocabulary.map { ($0.name, $0) })
        var enumValues: [String: (command: String, values: [String])] = [:]
        for o in occurrences {
            let shown = "`river \(o.command) \(o.kind == .positional ? o.name : "--" + o.name)`"
            if let alias = Self.deprecated.first(where: { $0.old == o.name && $0.commands.contains(o.command) }) {
                #expect(!o.visible, "\(shown) is a deprecated spelling of --\(alias.new): it must be hidden (help: .hidden)")
                continue
            }
            if let canonical = Self.synonyms[o.name] {
                Issue.record("\(shown) is a synonym of --\(canonical): use --\(canonical) (or, for an old public spelling, declare a hidden deprecated alias in VocabularyTests.deprecated)")
                continue
            }
            guard let t = terms[o.name] else {
                Issue.record("\(shown) <\(o.value ?? "")> is not in the CLI vocabulary: add it to VocabularyTests.vocabulary and docs/cli.md with its meaning, or use the vocabulary's existing name for the concept")
                continue
            }
            #expect(o.kind == t.kind, "\(shown) is a \(o.kind.rawValue), but in the vocabulary --\(t.name) is a \(t.kind.rawValue) (\(t.concept)): one name, one meaning")
            if t.kind != .flag {
                #expect(o.value == t.value, "\(shown) shows <\(o.value ?? "")>, the vocabulary says <\(t.value ?? "")> (\(t.concept)): one name, one meaning — set ArgumentHelp(valueName: \"\(t.value ?? "")\")")
            }
            switch t.typing {
            case .plain:
                #expect(o.allValues.isEmpty, "\(shown) lists allowed values \(o.allValues), but --\(t.name) is a plain value (\(t.concept))")
            case .enumeration, .enumerationPerCommand:
                #expect(!o.allValues.isEmpty, "\(shown) is a string; --\(t.name) (\(t.concept)) must be a typed ExpressibleByArgument enum that lists its values")
                if t.typing == .enumeration, !o.allValues.isEmpty {
                    if let seen = enumValues[o.name] {
                        #expect(seen.values == o.allValues, "\(shown) allows \(o.allValues) but `river \(seen.command) --\(o.name)` allows \(seen.values): one name, one meaning")
                    }
                    enumValues[o.name] = (o.command, o.allValues)
                }
            }
            if t.signed {
                #expect(o.unconditional, "\(shown) can be negative (\(t.concept)) but does not parse `-1`: declare it with parsing: .unconditional")
            }
        }
        // Every deprecated spelling still exists where scripts used it.
        for a in Self.deprecated {
            for c in a.commands {
                #expect(occurrences.contains { $0.command == c && $0.name == a.old },
                        "`river \(c) --\(a.old)` (deprecated for --\(a.new)) no longer parses; keep it hidden with a warning")
            }
        }
    }

    /// docs/cli.md names every vocabulary term, so the document and the binary cannot drift apart.
    @Test func docsNameEveryTerm() throws {
        let docs = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("docs/cli.md"), encoding: .utf8)
        for t in Self.vocabulary where t.kind != .positional && t.name != "help" {
            #expect(docs.contains("`--\(t.name)"), "docs/cli.md does not describe --\(t.name) (\(t.concept))")
        }
    }

    /// Every visible command's help has an example, and every example uses only that command's own,
    /// non-deprecated flags.
    @Test func examplesUseTheVocabulary() throws {
        let (commands, occurrences) = try Self.dump()
        let leaves = commands.filter { $0.isLeaf && $0.path != "help" }
        #expect(leaves.count >= 10)
        for c in leaves {
            #expect(c.discussion.contains("Example"), "`river \(c.path) --help` has no example")
            let own = Set(occurrences.filter { $0.command == c.path && $0.visible }.map(\.name))
            // Join continuation lines, then take the lines that run this command.
            let text = c.discussion.replacingOccurrences(of: "\\\n", with: " ")
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                guard words.first == "river", words.dropFirst().prefix(c.path.split(separator: " ").count).joined(separator: " ") == c.path else { continue }
                for w in words where w.hasPrefix("--") {
                    let name = String(w.dropFirst(2))
                    #expect(own.contains(name), "the example `\(line.trimmingCharacters(in: .whitespaces))` of `river \(c.path)` uses --\(name), which the command does not accept (or only as a deprecated spelling)")
                }
            }
        }
    }

    /// The documents (README, docs/, paper-notes/) show `river …` command lines with the current names:
    /// every `--flag` after `river CMD` in the same code span or code line is a visible option of CMD.
    @Test func documentsUseTheVocabulary() throws {
        let (commands, occurrences) = try Self.dump()
        let paths = Set(commands.map(\.path))
        let root = Self.repositoryRoot
        var files = [root.appendingPathComponent("README.md")]
        for dir in ["docs", "paper-notes"] {
            let d = root.appendingPathComponent(dir)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: d.path)) ?? [] where name.hasSuffix(".md") {
                files.append(d.appendingPathComponent(name))
            }
        }
        var checked = 0
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "\\\n", with: " ")
            for line in text.split(separator: "\n") {
                // Each `river …` up to the end of its code span (a backtick) or of the line.
                var rest = Substring(line)
                while let r = rest.range(of: "river ") {
                    let before = rest[..<r.lowerBound].last
                    rest = rest[r.upperBound...]
                    guard before == nil || before == " " || before == "`" || before == "$" || before == "\"" else { continue }
                    let span = rest.prefix { $0 != "`" }
                    let words = span.split(separator: " ").map(String.init)
                    // The longest command path the words start with.
                    var path = ""
                    for w in words {
                        let next = path.isEmpty ? w : path + " " + w
                        if paths.contains(next) { path = next } else { break }
                    }
                    guard !path.isEmpty else { continue }
                    let own = Set(occurrences.filter { $0.command == path && $0.visible }.map(\.name))
                    for w in words where w.hasPrefix("--") {
                        let name = String(w.dropFirst(2).prefix { $0.isLetter || $0.isNumber || $0 == "-" })
                        guard !name.isEmpty, name != "help" else { continue }
                        checked += 1
                        #expect(own.contains(name), "\(file.lastPathComponent): `river \(path)` is shown with --\(name), which it does not accept (or only as a deprecated spelling): \(line.trimmingCharacters(in: .whitespaces).prefix(160))")
                    }
                }
            }
        }
        #expect(checked >= 10, "only \(checked) documented flags found; the scan no longer finds the command lines")
    }

    /// The repository root, found from this test file's path.
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}

struct CLITestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
