"""Shared plotting helpers: reading the CSV tables the CLI writes, the one palette, a consistent style, saving.

Labels come from the data: a renderer groups rows by the values of a table's label columns (schedule,
budget, config, …) and never assumes which values exist, so every layout (quick, full, smoke) renders.
"""
import csv
import pathlib
import textwrap

import matplotlib.pyplot as plt
import numpy as np

# The one palette. Schedules use the CLI's kebab-case names (river sweep --schedules, the tables'
# `schedule` column); the WSD main branch and a constant LR are grey.
PALETTE = {
    "wsd": "#1f77b4", "wsds": "#d62728", "cosine": "#2ca02c", "cyclic-cosine": "#9467bd",
    "wsd-main": "#7f7f7f", "constant": "#7f7f7f", "river": "#2ca02c",
    # token classes of the bigram model (paper §4)
    "uncertain": "#d62728", "deterministic": "#1f77b4", "shared": "#7f7f7f",
}
# Further categorical colours (labels that are not in PALETTE: decay shapes, configurations, sources).
CYCLE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


def cycle(i):
    """The i-th categorical colour (for labels that are not schedules, e.g. decay shapes)."""
    return CYCLE[i % len(CYCLE)]


def color(label, i=0):
    """The palette colour of a label, else the i-th colour of the cycle."""
    return PALETTE.get(str(label), CYCLE[i % len(CYCLE)])


def shades(label, n):
    """n shades of the label's colour, light to dark (e.g. one per budget of a family)."""
    import matplotlib.colors as mc

    base = np.array(mc.to_rgb(color(label)))
    return [tuple(1 - (1 - base) * f) for f in np.linspace(0.45, 1.0, max(n, 1))][:n]


def unique(values):
    """The distinct values in first-seen order (the order the experiment wrote them)."""
    return list(dict.fromkeys(values.tolist() if hasattr(values, "tolist") else values))


def read_csv(path):
    """A CSV with a header as {column: np.ndarray} — float where every cell is a number (empty → NaN),
    object (str) otherwise; '#' comment lines skipped."""
    path = pathlib.Path(path)
    with path.open(newline="") as f:
        rows = list(csv.reader(line for line in f if not line.startswith("#")))
    header, body = rows[0], rows[1:]
    out = {}
    for j, name in enumerate(header):
        col = []
        for r in body:
            v = r[j] if j < len(r) else ""
            try:
                col.append(float(v) if v != "" else np.nan)
            except ValueError:
                col.append(v)
        out[name] = np.array(col, dtype=object if any(isinstance(c, str) for c in col) else float)
    return out


def title(ax, text, width=60, **kw):
    """An axes title wrapped to `width` characters per line, so it is never cut off."""
    ax.set_title("\n".join(textwrap.wrap(text, width)), **kw)


def style():
    plt.rcParams.update({
        "figure.dpi": 110, "savefig.dpi": 130, "axes.grid": True, "grid.alpha": 0.3,
        "axes.spines.top": False, "axes.spines.right": False, "font.size": 9, "legend.fontsize": 8,
    })


def save(fig, fig_dir, name):
    path = pathlib.Path(fig_dir) / name
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def has_data(ax):
    """Whether an axes shows any finite data (lines, scatter/errorbar collections, bars, images)."""
    for line in ax.lines:
        x, y = (np.asarray(a, dtype=float) for a in line.get_data())
        if np.isfinite(x).any() and np.isfinite(y).any():
            return True
    for c in ax.collections:
        offsets = np.asarray(c.get_offsets(), dtype=float)
        if offsets.size and np.isfinite(offsets).any():
            return True
        if getattr(c, "get_paths", None) and len(c.get_paths()) and not offsets.size:
            return True   # contour sets and other path collections
    return bool(ax.patches) or bool(ax.images)


def figure_problems(fig):
    """Empty panels and titles/labels that do not fit in the figure (what the figure tests reject)."""
    problems = []
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    for k, ax in enumerate(fig.axes):
        name = ax.get_title() or f"axes {k}"
        # A twin axes shares its host's position; the pair is empty only if both are.
        twins = [a for a in fig.axes if a is not ax and a.get_position().bounds == ax.get_position().bounds]
        if not has_data(ax) and not any(has_data(a) for a in twins):
            problems.append(f"empty panel: {name!r}")
        for text in [ax.title, ax.xaxis.label, ax.yaxis.label]:
            if not text.get_text():
                continue
            e = text.get_window_extent(renderer)
            if e.x0 < box.x0 - 1 or e.x1 > box.x1 + 1 or e.y0 < box.y0 - 1 or e.y1 > box.y1 + 1:
                problems.append(f"cut off: {text.get_text()!r}")
    return problems
