"""Shared pytest fixtures: where the `river` binary and the repository are."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo() -> pathlib.Path:
    return REPO


@pytest.fixture(scope="session")
def river_bin() -> pathlib.Path:
    """The release `river` binary (RIVER_BIN overrides; the test command builds it first)."""
    path = pathlib.Path(os.environ.get("RIVER_BIN", REPO / ".build" / "release" / "river"))
    if not path.exists():
        pytest.fail(f"river binary not found at {path}; build it with `swift build -c release` or set RIVER_BIN")
    return path


@pytest.fixture(scope="session")
def river(river_bin):
    """Runs `river ARGS...` and returns the CompletedProcess (text mode); does not raise on failure."""
    def run(*args, check=False, **kw):
        proc = subprocess.run([str(river_bin), *map(str, args)], capture_output=True, text=True, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"river {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
        return proc
    return run
