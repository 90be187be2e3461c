"""The repository stands alone: every path a tracked file cites exists, no tracked file cites a document
outside the repository, and every `paper-notes/paper.md §N` citation names a section that paper.md has.

What counts as a path citation (repo-relative):
- a token starting with one of the top-level folders in ROOTS (`Sources/…`, `python/…`, `docs/…`, …),
  wherever it appears (prose, backticks, comments, `file:symbol` and `file:line` forms — the part after the
  first ':' is ignored);
- in Markdown files, the target of a link `[text](target)`, resolved against the file's folder (links to
  web pages, anchors and mail addresses are skipped).
A citation may use a glob (`Notebooks/*.py`), braces (`Sources/{Bigram,Trainer}`), a shell variable
(`Benchmarks/$name.py`) or an all-caps placeholder (`Benchmarks/NAME.py`); it must then match at least one
tracked path. In a `file:Symbol.member` citation every dotted name must occur in that file; a Swift test
named in backticks (`SuiteTests` or `SuiteTests.testName`) must be declared under Tests/. Paths under the generated, ignored folders out/, runs/ and data/ may
not exist and are not checked.
"""
import fnmatch
import itertools
import pathlib
import re
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]
THIS = pathlib.Path(__file__).resolve().relative_to(REPO).as_posix()

# Top-level folders whose paths are checked wherever they are cited.
ROOTS = ("Sources", "Tests", "python", "docs", "paper-notes", "scripts", "Benchmarks", "Notebooks", "Figures")
# Generated, ignored output folders: citations into them need not exist.
GENERATED = ("out/", "runs/", "data/", ".build", ".venv/")
# Paths cited ahead of the code that creates them, with where they come from. A path here that exists
# is an error too (remove it from the list), so the list cannot go stale.
PENDING: dict = {}
# Documents outside the repository must not be cited. The strings are assembled so that this file does
# not contain them itself.
DIGEST = "dig" + "est"
FORBIDDEN = tuple(s.lower() for s in (
    DIGEST + ".md", DIGEST + " \u00a7", "the paper " + DIGEST, "the " + DIGEST + ";", "in the " + DIGEST,
    "platform" + ".md", ".." + "/shared", "/work/" + "shared",
))
# All-caps file stems that are real names, not placeholders.
REAL_CAPS = {"README", "LICENSE", "CHANGELOG", "ARCHITECTURE", "CONTRIBUTING", "SHA256SUMS"}

PATH_RE = re.compile(
    r"(?<![\w./$\-])((?:" + "|".join(map(re.escape, ROOTS)) + r")/(?:\{[^{}\s]*\}|[^\s`'\"()\[\]<>,;:{}])*)")
# `file:Symbol.member` (a Swift, Python or shell file, then a dotted identifier; `file:12` is a line).
SYMBOL_RE = re.compile(
    r"(?<![\w./$\-])((?:" + "|".join(map(re.escape, ROOTS)) + r")/[\w./\-]+\.(?:swift|py|sh)):([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
# A Swift test suite (and test) named in backticks: `SuiteTests` or `SuiteTests.testName`.
TEST_NAME_RE = re.compile(r"`([A-Z]\w*Tests)(?:\.([A-Za-z_]\w*))?`")
LINK_RE = re.compile(r"\]\(([^)\s]+)\)")
SECTION_HEADING_RE = re.compile(r"^#{2,6}\s+(\d+(?:\.\d+)*)\.?\s", re.M)
PAPER_CITATION_RE = re.compile(r"paper\.md\)?\s*\u00a7\s*(\d+(?:\.\d+)*)")
# After a citation: ", §2.3", " and §4", or a range "–2.2" / "–§2.2".
CONTINUATION_RE = re.compile(r"\s*(?:,|and|or)\s*\u00a7\s*(\d+(?:\.\d+)*)|\s*[\u2013-]\s*\u00a7?\s*(\d+(?:\.\d+)*)")
BARE_SECTION_RE = re.compile(r"(?<!paper )(?<!paper\.md )(?<!paper\.md\) )\u00a7\s*(\d+(?:\.\d+)*)")


def expand_braces(path: str) -> list[str]:
    """`a/{b,c}/d` → [`a/b/d`, `a/c/d`] (several groups: every combination)."""
    parts = re.split(r"(\{[^{}]*\})", path)
    choices = [p[1:-1].split(",") if p.startswith("{") else [p] for p in parts]
    return ["".join(c) for c in itertools.product(*choices)]


def is_placeholder(segment: str) -> bool:
    """`$name`, `${name}`, globs, and all-caps stems of two or more letters such as NAME, RUN, CK (not README
    and the like)."""
    if any(ch in segment for ch in "*?$"):
        return True
    m = re.match(r"[A-Z][A-Z0-9_]+(?=\.|$)", segment)
    return bool(m) and m.group(0) not in REAL_CAPS


def as_pattern(segment: str) -> str:
    segment = re.sub(r"\$\{?\w+\}?", "*", segment)
    return re.sub(r"^[A-Z][A-Z0-9_]+(?=\.|$)", "*", segment) if not any(ch in segment for ch in "*?") else segment


def clean(token: str) -> str:
    """Drops what trails a path in prose: a full stop, an ellipsis (`Sources/…` cites the folder). A
    `file:symbol` suffix never gets this far: PATH_RE stops at the colon."""
    token = token.split("\u2026")[0]
    return token.rstrip(".")


def exists(path: str, known: set[str]) -> bool:
    """The path is tracked (a file, or a folder of tracked files). A placeholder segment that is not itself
    a tracked name must match at least one tracked name in that folder."""
    path = path.rstrip("/")
    if path in known:
        return True
    prefixes = [""]
    for segment in path.split("/"):
        literal = [f"{p}/{segment}" if p else segment for p in prefixes]
        if any(l in known for l in literal):
            prefixes = [l for l in literal if l in known]
        elif is_placeholder(segment):
            glob = as_pattern(segment)
            prefixes = [k for k in known
                        if (k.rsplit("/", 1)[0] if "/" in k else "") in prefixes
                        and fnmatch.fnmatchcase(k.rsplit("/", 1)[-1], glob)]
        else:
            return False
        if not prefixes:
            return False
    return True


def cited_paths(file: str, text: str) -> list[tuple[int, str]]:
    """(line, repo-relative path) for every path citation in `text` (see the module docstring)."""
    out = []
    folder = pathlib.PurePosixPath(file).parent
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in PATH_RE.finditer(line):
            out.extend((lineno, p) for p in expand_braces(clean(m.group(1))))
        if file.endswith(".md"):
            for m in LINK_RE.finditer(line):
                target = m.group(1).split("#")[0]
                if not target or re.match(r"[a-z][a-z0-9+.-]*:", target):
                    continue
                parts = []
                for part in (folder / target).parts:
                    if part == ".." and not parts:
                        parts = None  # above the repository root
                        break
                    if part == "..":
                        parts.pop()
                    elif part != ".":
                        parts.append(part)
                out.append((lineno, "/".join(parts) if parts is not None else target))
    return sorted(set(out))


def cited_symbols(text: str) -> list[tuple[int, str, str]]:
    """(line, file, symbol) for every `file:Symbol.member` citation."""
    return [(lineno, m.group(1), m.group(2))
            for lineno, line in enumerate(text.splitlines(), 1) for m in SYMBOL_RE.finditer(line)]


def missing_names(symbol: str, target_text: str) -> list[str]:
    """The components of a dotted symbol that do not occur as a word in the cited file."""
    return [name for name in symbol.split(".") if not re.search(r"\b" + re.escape(name) + r"\b", target_text)]


def swift_test_names(files: dict[str, str]) -> dict[str, str]:
    """{suite type name: text of the file declaring it} over the tracked Swift tests."""
    suites = {}
    for file, text in files.items():
        if file.startswith("Tests/") and file.endswith(".swift"):
            for m in re.finditer(r"\b(?:struct|class|final class)\s+([A-Z]\w*Tests)\b", text):
                suites[m.group(1)] = text
    return suites


def paper_sections(paper_text: str) -> set[str]:
    return set(SECTION_HEADING_RE.findall(paper_text))


def cited_sections(file: str, text: str) -> list[tuple[int, str]]:
    """(line, section) for `paper.md §N` citations (with ', §M', ' and §M', '–M' continuations); inside
    paper.md itself also bare `§N` (the paper's own sections are written `paper §N` there)."""
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in PAPER_CITATION_RE.finditer(line):
            out.append((lineno, m.group(1)))
            pos = m.end()
            while (c := CONTINUATION_RE.match(line, pos)):
                out.append((lineno, c.group(1) or c.group(2)))
                pos = c.end()
        if file == "paper-notes/paper.md":
            for m in BARE_SECTION_RE.finditer(line):
                out.append((lineno, m.group(1)))
    return sorted(set(out))


def problems(files: dict[str, str], known: set[str], paper_text: str | None) -> list[str]:
    """Every dangling path, symbol or test name, forbidden mention and unknown paper.md section, as
    'file:line → what', sorted."""
    sections = paper_sections(paper_text) if paper_text is not None else set()
    suites = swift_test_names(files)
    found = []  # (file, line, message)
    for file, text in sorted(files.items()):
        lower_lines = text.lower().splitlines()
        for lineno, line in enumerate(lower_lines, 1):
            for word in FORBIDDEN:
                if word in line:
                    found.append((file, lineno, f"cites a document outside the repository ({word!r})"))
        if file != THIS:
            for lineno, path in cited_paths(file, text):
                if path.startswith(GENERATED) or path in PENDING:
                    continue
                if not exists(path, known):
                    found.append((file, lineno, f"{path} (no such tracked path)"))
            for lineno, line in enumerate(text.splitlines(), 1):
                for m in TEST_NAME_RE.finditer(line):
                    suite, test = m.groups()
                    if suite not in suites:
                        found.append((file, lineno, f"test suite {suite} (no such suite under Tests/)"))
                    elif test and not re.search(r"\bfunc\s+" + re.escape(test) + r"\b", suites[suite]):
                        found.append((file, lineno, f"test {suite}.{test} (no such test in that suite's file)"))
            for lineno, target, symbol in cited_symbols(text):
                if target in files and (gone := missing_names(symbol, files[target])):
                    found.append((file, lineno, f"{target}:{symbol} ({', '.join(gone)} not in {target})"))
        for lineno, section in cited_sections(file, text):
            if paper_text is None:
                found.append((file, lineno, f"paper-notes/paper.md \u00a7{section} (paper.md is missing)"))
            elif section not in sections:
                found.append((file, lineno, f"paper-notes/paper.md \u00a7{section} (no such section)"))
    return [f"{file}:{line} \u2192 {what}" for file, line, what in sorted(found)]


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [f for f in out.decode().split("\0") if f and (REPO / f).is_file()]


def known_paths(files: list[str]) -> set[str]:
    known = set(files)
    for f in files:
        parts = f.split("/")
        known.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return known


def read_texts(files: list[str]) -> dict[str, str]:
    texts = {}
    for f in files:
        data = (REPO / f).read_bytes()
        if b"\0" in data:
            continue  # binary (figures)
        try:
            texts[f] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts


# --- the repository ---------------------------------------------------------------------------------

def test_every_citation_resolves():
    files = tracked_files()
    paper = REPO / "paper-notes" / "paper.md"
    found = problems(read_texts(files), known_paths(files), paper.read_text() if paper.exists() else None)
    assert not found, "dangling or outside references:\n  " + "\n  ".join(found)


def test_pending_paths_do_not_exist_yet():
    known = known_paths(tracked_files())
    arrived = [p for p in PENDING if p in known]
    assert not arrived, f"these now exist; remove them from PENDING in {THIS}: {arrived}"


def test_paper_sections_are_numbered():
    sections = paper_sections((REPO / "paper-notes" / "paper.md").read_text())
    for s in ["1", "1.3", "1.4", "1.5", "1.7", "2.3", "2.4", "2.5.1", "3", "4", "8", "10"]:
        assert s in sections


# --- the checker itself, on a synthetic repository ---------------------------------------------------

def test_checker_on_a_synthetic_repository():
    known = known_paths(["Sources/a/Real.swift", "docs/guide.md", "Notebooks/one.py", "Benchmarks/fast.py",
                         "Tests/CLI/Run.swift", "paper-notes/paper.md", "paper-notes/notes.md", "README.md"])
    paper = "# P\n\n## 1. Schedules\n### 1.2 WSD\n#### 1.2.1 Branches\n## 2. Theory\n"
    files = {
        "README.md": "\n".join([
            "see Sources/a/Real.swift and `Sources/a/Gone.swift`.",             # 1: Gone is dangling
            "Sources/a/Real.swift:Real, Sources/a/Real.swift:12 (docs/guide.md).",  # 2: all fine
            "[guide](docs/guide.md) [bad](docs/nope.md) [web](https://x.org/a.md) [top](#anchor)",  # 3: nope
            "Notebooks/*.py and Notebooks/*.ipynb",                             # 4: the second glob matches nothing
            "Benchmarks/NAME.py, Benchmarks/$name.py; out/quick/x.csv runs/a data/shakespeare.txt",  # 5: fine
            "Sources/{a,b}/Real.swift",                                         # 6: b/Real.swift is dangling
            "paper-notes/paper.md \u00a71.2, \u00a71.2.1 and \u00a72; paper.md \u00a71.3 and paper.md \u00a71\u20133",  # 7
            "the " + DIGEST + "; ../" + "shared" + "/x",                                # 8: two forbidden mentions
            "docs/ and Sources/\u2026 are folders; Figures/. and Figures/ are not",  # 9: Figures is not tracked
            "Tests/CLI/RUN.swift fine, Tests/CLI/README.swift and Tests/CLI/NAME.py are not",  # 10
            "`Sources/a/Real.swift:Real.lr` and `Sources/a/Real.swift:Real.gone`",  # 11: gone is not in the file
        ]),
        "Tests/CLI/Run.swift": "@Suite struct RunTests {\n    @Test func resumes() {}\n}\n",
        "docs/guide.md": "`RunTests`, `RunTests.resumes`, `RunTests.gone`, `ClosedFormTests` (see Tests/)",
        "Sources/a/Real.swift": "public struct Real {\n    public func lr(at step: Int) -> Double { 0 }\n}\n",
        "paper-notes/notes.md": "[paper](paper.md) [up](../README.md) [bad](../../outside.md) [miss](gone.md)",
        "paper-notes/paper.md": paper + "see \u00a71.2 and \u00a79 here; the paper's own paper \u00a74\n",
    }
    assert problems(files, known, paper) == [
        "README.md:1 \u2192 Sources/a/Gone.swift (no such tracked path)",
        "README.md:3 \u2192 docs/nope.md (no such tracked path)",
        "README.md:4 \u2192 Notebooks/*.ipynb (no such tracked path)",
        "README.md:6 \u2192 Sources/b/Real.swift (no such tracked path)",
        "README.md:7 \u2192 paper-notes/paper.md \u00a71.3 (no such section)",
        "README.md:7 \u2192 paper-notes/paper.md \u00a73 (no such section)",
        "README.md:8 \u2192 cites a document outside the repository (" + repr(".." + "/shared") + ")",
        "README.md:8 \u2192 cites a document outside the repository (" + repr("the " + DIGEST + ";") + ")",
        "README.md:9 \u2192 Figures/ (no such tracked path)",
        "README.md:10 \u2192 Tests/CLI/NAME.py (no such tracked path)",
        "README.md:10 \u2192 Tests/CLI/README.swift (no such tracked path)",
        "README.md:11 \u2192 Sources/a/Real.swift:Real.gone (gone not in Sources/a/Real.swift)",
        "docs/guide.md:1 \u2192 test RunTests.gone (no such test in that suite's file)",
        "docs/guide.md:1 \u2192 test suite ClosedFormTests (no such suite under Tests/)",
        "paper-notes/notes.md:1 \u2192 ../../outside.md (no such tracked path)",
        "paper-notes/notes.md:1 \u2192 paper-notes/gone.md (no such tracked path)",
        "paper-notes/paper.md:7 \u2192 paper-notes/paper.md \u00a79 (no such section)",
    ]
    # A clean file gives no problems, and the real paper.md's own headings parse.
    assert problems({"docs/guide.md": "see [the notebook](../Notebooks/one.py) and Sources/a/"}, known, paper) == []
