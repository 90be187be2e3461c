"""The figure contract, end to end: a smoke-scale `river experiment all` run in the quick and in the full
layout (the full setting's files, labels and budgets, at a tiny cost), checked against the contract the
binary declares (`river experiment --contract`), then every figure rendered from it.

Fails on a missing or undeclared file or column, a label value not declared (one naming case: the CLI's
kebab-case), an empty panel (an axes with no finite data), a title or axis label cut off, and a legend
that lost the decay branches of some budget.
"""
import importlib
import json
import pathlib
import sys

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import figures  # noqa: E402
from figs import common  # noqa: E402

LAYOUTS = {"quick": [], "full": ["--full"]}


@pytest.fixture(scope="module")
def contract(river):
    proc = river("experiment", "--contract", check=True)
    return {e["name"]: e for e in json.loads(proc.stdout)}


@pytest.fixture(scope="module")
def smoke_runs(river, tmp_path_factory):
    """{layout: data folder} of `river experiment all --smoke` in both layouts (≈1 minute on 2 cores)."""
    out = {}
    for layout, flags in LAYOUTS.items():
        d = tmp_path_factory.mktemp(f"smoke-{layout}")
        river("experiment", "all", "--out", d, "--smoke", *flags, check=True, timeout=600)
        out[layout] = d
    return out


def test_every_experiment_has_a_renderer(contract):
    assert set(contract) == set(figures.renderers())


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_files_columns_and_values_match_the_contract(contract, smoke_runs, layout):
    problems = []
    for name, e in contract.items():
        d = smoke_runs[layout] / name
        written = {p.name for p in d.iterdir() if not p.name.startswith(".")}
        declared = {o["file"] for o in e["outputs"]}
        if written != declared:
            problems.append(f"{name}: wrote {sorted(written)}, declared {sorted(declared)}")
        for o in e["outputs"]:
            if o["file"] not in written:
                continue
            t = common.read_csv(d / o["file"])
            if list(t) != o["columns"]:
                missing = [c for c in o["columns"] if c not in t]
                extra = [c for c in t if c not in o["columns"]]
                problems.append(f"{name}/{o['file']}: missing columns {missing}, undeclared columns {extra}")
            if not len(next(iter(t.values()))):
                problems.append(f"{name}/{o['file']}: no rows")
            for column, allowed in o["values"].items():
                bad = set(map(str, t.get(column, []))) - set(allowed)
                if bad:
                    problems.append(f"{name}/{o['file']}: {column} values {sorted(bad)} not declared ({allowed})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_figure_renders_with_full_panels(smoke_runs, layout, tmp_path, monkeypatch):
    seen = {}

    def checked_save(fig, fig_dir, name):
        fig.tight_layout()
        legends = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        seen[name] = (common.figure_problems(fig), legends)
        return common.save(fig, fig_dir, name)

    for mod in ["schedules", "bigram", "valley", "trainer", "lm"]:
        monkeypatch.setattr(importlib.import_module(f"figs.{mod}"), "save", checked_save)
    for name, render in figures.renderers().items():
        for path in render(smoke_runs[layout] / name, tmp_path):
            assert path.exists() and path.stat().st_size > 10_000, path
    problems = [f"{png}: {p}" for png, (ps, _) in seen.items() for p in ps]
    assert not problems, "\n".join(problems)
    assert len(seen) == 22

    # Labels come from the data: every decay-branch budget the table holds is in the legend.
    t = common.read_csv(smoke_runs[layout] / "bigram-wsd-curve" / "bigram_wsd_curve.csv")
    budgets = sorted({int(b) for s, b in zip(t["schedule"], t["budget"]) if s == "wsd"})
    assert budgets == ([1000, 2000, 3000] if layout == "quick" else [4000, 8000, 12000])
    for b in budgets:
        assert f"WSD branch → {b}" in seen["bigram_wsd_curve.png"][1]
        assert f"WSD branch → {b}" in seen["bigram_class_loss.png"][1]
    zoo = seen["schedule_zoo.png"][1]
    assert {"decay branch → 1000", "cosine, budget 4000", "cyclic-cosine"} <= set(zoo)
