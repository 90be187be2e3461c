"""Shared plotting helpers: reading the CSV tables the CLI writes, a consistent style, saving."""
import csv
import pathlib

import matplotlib.pyplot as plt
import numpy as np

COLORS = {
    "wsd": "#1f77b4", "wsds": "#d62728", "cosine": "#2ca02c", "cyclic-cosine": "#9467bd",
    "constant": "#7f7f7f", "cyclic_cosine": "#9467bd",
}


def read_csv(path):
    """A CSV with a header as {column: np.ndarray of float} (empty cells → NaN; '#' lines skipped)."""
    path = pathlib.Path(path)
    with path.open() as f:
        rows = [r for r in csv.reader(line for line in f if not line.startswith("#"))]
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
