"""Executes every notebook in Notebooks/ (jupytext percent scripts) with a real Jupyter kernel.

A notebook passes when every cell runs without error (the notebooks assert their own checks).
The executed .ipynb goes to a temporary folder, so the test leaves the tree unchanged.
"""
import os
import pathlib

import jupytext
import nbclient
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[2] / "Notebooks").glob("*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, repo, river_bin, tmp_path, monkeypatch):
    monkeypatch.setenv("RIVER_BIN", str(river_bin))
    monkeypatch.setenv("RIVER_ROOT", str(repo))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(repo)}})
    client.execute()
    out = tmp_path / (path.stem + ".ipynb")
    jupytext.write(nb, out)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors


def test_there_are_notebooks():
    assert NOTEBOOKS, "Notebooks/ has no jupytext notebooks"
