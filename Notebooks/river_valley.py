# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The river valley, hands on
#
# Wen et al. (arXiv 2410.05192) explain the WSD loss curve with a *river valley*: a flat direction (the
# river) along which the loss keeps decreasing, and sharp directions (the hills) in which SGD bounces.
# This notebook drives the `river` CLI and looks at what it writes:
#
# 1. the schedules being compared;
# 2. SGD on a straight valley: the loss splits into a river part (set by Σ η) and a hill part (set by the
#    current η) — the decay removes the hill part;
# 3. the stationary hill loss against the exact theory ησ²/(2(2−ηλ)) per direction and η·TrΣ/4;
# 4. the Hessian spectrum of a curved valley on its river: one flat eigenvalue, the rest sharp.
#
# Every number comes from the Swift toolkit; this notebook only calls it and plots.

# %%
import io
import os
import pathlib
import subprocess
import tempfile

import matplotlib.pyplot as plt
import numpy as np

ROOT = pathlib.Path(os.environ.get("RIVER_ROOT", pathlib.Path.cwd()))
if not (ROOT / "Package.swift").exists():
    ROOT = ROOT.parent
RIVER = os.environ.get("RIVER_BIN", str(ROOT / ".build" / "release" / "river"))
WORK = pathlib.Path(tempfile.mkdtemp(prefix="river-notebook-"))


def river(*args):
    """Runs the CLI and returns its standard output (raises with the CLI's message on failure)."""
    p = subprocess.run([RIVER, *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"river {' '.join(map(str, args))}: {p.stderr.strip()}")
    return p.stdout


def table(text_or_path):
    """CSV with a header → dict of numpy columns."""
    src = pathlib.Path(text_or_path).read_text() if isinstance(text_or_path, pathlib.Path) else text_or_path
    data = np.genfromtxt(io.StringIO(src), delimiter=",", names=True)
    return {name: data[name] for name in data.dtype.names}


# %% [markdown]
# ## 1. Schedules
# WSD holds the peak and decays over the last 20% (here `inv`: 1/η linear in the step, decaying to
# 0.1·peak); cosine decays all along; constant never decays.

# %%
STEPS, PEAK = 2000, 0.1
sched = {}
for kind, extra in [("constant", []), ("cosine", []), ("wsd", ["--decay", 0.2, "--shape", "inv"])]:
    sched[kind] = table(river("schedule", "--kind", kind, "--steps", STEPS, "--peak", PEAK, *extra))
fig, ax = plt.subplots(figsize=(6, 2.5))
for kind, t in sched.items():
    ax.plot(t["step"], t["lr"], label=kind)
ax.set_xlabel("step"); ax.set_ylabel("learning rate"); ax.legend()
plt.show()

# %% [markdown]
# ## 2. SGD on a straight valley
# L(x, y) = −s·x + ½ Σ λᵢ yᵢ² in d = 8 dimensions, Gaussian gradient noise σ = 1 on every coordinate.
# The loss is the river loss (−s·x: progress along the river) plus the hill loss (½ Σ λᵢ yᵢ²).

# %%
common = ["--landscape", "straight-valley", "--dim", 8, "--hill-curvature", 2.0, "--river-slope", 0.05,
          "--noise", 1.0, "--optimizer", "sgd", "--steps", STEPS, "--peak", PEAK, "--seed-count", 32, "--seed", 1]
runs = {}
for kind, extra in [("constant", []), ("cosine", []), ("wsd", ["--decay", 0.2, "--shape", "inv"])]:
    out = WORK / f"sgd_{kind}.csv"
    river("simulate", *common, "--kind", kind, *extra, "--out", out)
    runs[kind] = table(out)

fig, ax = plt.subplots(1, 3, figsize=(12, 3.2))
for kind, t in runs.items():
    ax[0].plot(t["step"], t["loss"], label=kind)
    ax[1].plot(t["step"], t["river_loss"], label=kind)
    ax[2].plot(t["step"], t["hill_loss"], label=kind)
for a, title in zip(ax, ["total loss", "river loss (−s·x)", "hill loss (½Σλy²)"]):
    a.set_title(title); a.set_xlabel("step")
ax[0].legend()
plt.show()

# %% [markdown]
# The WSD run keeps the constant run's river progress until the decay, and its hill loss collapses during
# the decay: the loss drop at the end is the hill loss going away, while the river loss is a function of
# Σ η. Check it: the hill loss at the end of each run compared with the theory column the CLI writes.

# %%
for kind, t in runs.items():
    end = -1
    print(f"{kind:9s} final loss {t['loss'][end]:+.4f}  river {t['river_loss'][end]:+.4f}  "
          f"hill {t['hill_loss'][end]:.4f} ± {t['hill_loss_std'][end] / np.sqrt(32):.4f} (s.e.)  "
          f"theory hill {t['theory_hill_loss'][end]:.4f}")
    assert abs(t["hill_loss"][end] - t["theory_hill_loss"][end]) < 5 * t["hill_loss_std"][end] / np.sqrt(32) + 1e-3

# %% [markdown]
# River progress is a function of river time τ = Σ η: plotting the river coordinate against the
# cumulative LR puts all three schedules on one line, x = x₀ + s·τ (the closed form for GD; SGD noise
# averages out along a linear river).

# %%
fig, ax = plt.subplots(figsize=(5, 3.2))
for kind, t in runs.items():
    ax.plot(t["cumulative_lr"], t["river_coord"], label=kind)
tau = np.linspace(0, runs["constant"]["cumulative_lr"][-1], 50)
ax.plot(tau, 0.05 * tau, "k:", label="s·Σ η")
ax.set_xlabel("Σ η"); ax.set_ylabel("river coordinate x"); ax.legend()
plt.show()

# %% [markdown]
# ## 3. Stationary hill loss against theory
# At a constant η the hill loss settles at Σᵢ ησ²/(2(2−ηλᵢ)) (exact for SGD on a quadratic), close to
# η·TrΣ/4 when ηλ ≪ 1. The CLI writes both theory columns next to the simulation.

# %%
rows = []
for eta in [0.02, 0.05, 0.1, 0.2, 0.4, 0.8]:
    out = WORK / f"stat_{eta}.csv"
    river("simulate", "--landscape", "straight-valley", "--dim", 5, "--hill-curvature", 2.0, "--river-slope", 0.0,
          "--noise", 1.0, "--optimizer", "sgd", "--kind", "constant", "--steps", 1500, "--peak", eta,
          "--seed-count", 64, "--out", out)
    t = table(out)
    tail = slice(len(t["step"]) // 2, None)
    rows.append((eta, t["hill_loss"][tail].mean(), t["theory_hill_loss_stationary"][-1], t["theory_hill_loss_approx"][-1]))
rows = np.array(rows)
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(rows[:, 0], rows[:, 1], "o", label="simulation (64 seeds)")
ax.plot(rows[:, 0], rows[:, 2], "-", label="exact ησ²/(2(2−ηλ))")
ax.plot(rows[:, 0], rows[:, 3], "--", label="η·TrΣ/4")
ax.set_xlabel("η"); ax.set_ylabel("stationary hill loss"); ax.legend()
plt.show()
rel = np.abs(rows[:, 1] / rows[:, 2] - 1)
print("relative deviation from the exact theory:", np.round(rel, 3))
assert rel.max() < 0.1

# %% [markdown]
# ## 4. The spectrum on the river
# A curved valley L = ℓ(x) + ½λ|y − a sin(kx)|² has, on its river, one eigenvalue near 0 (the river
# direction) and d−1 eigenvalues near λ (the hills): the eigengap the theory assumes.

# %%
spec = table(river("spectrum", "--landscape", "curved-valley", "--dim", 4, "--hill-curvature", 10, "--on-river", 1.0))
print(spec)
ev = np.sort(spec["eigenvalue"])
print(f"flattest {ev[0]:.4f}, sharpest {ev[-1]:.3f}, gap ratio λ_(d−1)/|λ_d| = {ev[1] / max(abs(ev[0]), 1e-12):.1f}")
assert ev[1] > 4 * abs(ev[0])
