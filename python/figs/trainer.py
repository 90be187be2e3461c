"""Trainer figures: WSD main + decay branches vs cosine, WSD-S vs WSD vs cyclic cosine, budget table, and the
loss-curve laws fitted on the constant + cosine runs predicting the other schedules."""
import matplotlib.pyplot as plt
import numpy as np

from .common import color, cycle, read_csv, save, shades, style, title, unique


def _curves(t, schedule, value):
    """Mean over seeds of `value` per (budget, step) for one schedule: {budget: (steps, mean)}."""
    out = {}
    m = (t["schedule"] == schedule) & np.isfinite(t[value].astype(float))
    for budget in unique(t["budget"][m]):
        r = m & (t["budget"] == budget)
        steps = np.unique(t["step"][r].astype(float))
        mean = [np.nanmean(t[value][r & (t["step"] == s)].astype(float)) for s in steps]
        out[budget] = (steps, np.array(mean))
    return out


def _plot(ax_lr, ax_loss, t):
    """LR and validation loss of every schedule in the table, one colour per schedule (shades per budget
    for the runs of one schedule that serve different budgets), labels from the data."""
    for sched in unique(t["schedule"]):
        loss, lrs = _curves(t, sched, "val_loss"), _curves(t, sched, "lr")
        cols = shades(sched, len(loss)) if len(loss) > 1 else [color(sched)]
        for k, (c, (budget, (s, v))) in enumerate(zip(cols, loss.items())):
            label = sched if len(loss) == 1 else f"{sched} → {int(budget)}"
            ax_loss.plot(s, v, color=c, marker=".", ms=3, lw=1.2, label=label)
        for c, (budget, (s, v)) in zip(cols, lrs.items()):
            ax_lr.plot(s, v, color=c, lw=1)
    ax_lr.set_ylabel("learning rate")
    ax_loss.set_ylabel("validation loss (nats/byte)")
    ax_loss.set_xlabel("step")
    ax_loss.legend(fontsize=7, ncol=2)


def wsd_branches(data, fig_dir):
    style()
    t = read_csv(data / "trainer-wsd-branches.csv")
    fig, ax = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    _plot(ax[0], ax[1], t)
    title(ax[0], "WSD: a constant main branch with decay branches, vs a cosine run per budget (mean over seeds)", 70)
    return [save(fig, fig_dir, "trainer_wsd_branches.png")]


def schedules(data, fig_dir):
    style()
    t = read_csv(data / "trainer-schedules.csv")
    fig, ax = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    _plot(ax[0], ax[1], t)
    title(ax[0], "WSD-S vs WSD vs cyclic cosine (mean over seeds)", 70)
    return [save(fig, fig_dir, "trainer_schedules.png")]


def budget_table(data, fig_dir):
    style()
    t = read_csv(data / "trainer-budget-table.csv")
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    for sched in unique(t["schedule"]):
        m = t["schedule"] == sched
        ax[0].errorbar(t["budget"][m], t["val_loss_mean"][m], yerr=t["val_loss_std"][m], marker="o", capsize=3,
                       color=color(sched), label=sched)
        ax[1].plot(t["budget"][m], t["compute_steps"][m], marker="o", color=color(sched), label=sched)
    ax[0].set_xscale("log", base=2); ax[0].set_xlabel("budget (steps)"); ax[0].set_ylabel("final val loss (mean ± std)")
    title(ax[0], "Validation loss at each budget"); ax[0].legend()
    ax[1].set_xscale("log", base=2); ax[1].set_xlabel("budget (steps)"); ax[1].set_ylabel("optimizer steps spent (cumulative)")
    title(ax[1], "Compute spent to produce the budget checkpoints"); ax[1].legend()
    return [save(fig, fig_dir, "trainer_budget_table.png")]


def curve_laws(data, fig_dir):
    """One panel per run (the two fitted, then the held-out ones): measured validation loss as dots, each
    law's predicted curve as a line, the law's MAE on that run in the legend."""
    style()
    t = read_csv(data / "trainer-curve-laws.csv")
    m = read_csv(data / "trainer-curve-laws-metrics.csv")
    runs = unique(t["run"])
    cols = min(4, len(runs))
    rows = (len(runs) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.9 * rows), squeeze=False)
    for ax, run in zip(axes.flat, runs):
        r = t["run"] == run
        laws = unique(t["law"][r])
        first = r & (t["law"] == laws[0])
        seen = first & np.isfinite(t["loss"].astype(float))
        ax.plot(t["step"][seen], t["loss"][seen], "k.", ms=4, label="measured")
        for i, law in enumerate(laws):
            q = r & (t["law"] == law)
            k = (m["run"] == run) & (m["law"] == law)
            mae = float(m["mae"][k][0]) if k.any() else float("nan")
            ax.plot(t["step"][q], t["predicted"][q], color=cycle(i), lw=1.2, label=f"{law} (MAE {mae:.3f})")
        role, sched = t["role"][first][0], t["schedule"][first][0]
        lo = np.nanmin(t["loss"][seen].astype(float)) if seen.any() else np.nanmin(t["predicted"][first].astype(float))
        hi = np.nanmax(t["loss"][seen].astype(float)) if seen.any() else lo + 1
        ax.set_ylim(lo - 0.05 * (hi - lo + 1e-9) - 0.02, hi + 0.1 * (hi - lo + 1e-9) + 0.02)
        title(ax, f"{run.split('/')[-1]} ({sched}, {role})", 40)
        ax.set_xlabel("step")
        ax.set_ylabel("validation loss")
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(runs):]:
        ax.remove()
    return [save(fig, fig_dir, "trainer_curve_laws.png")]


RENDERERS = {"trainer-wsd-branches": wsd_branches, "trainer-schedules": schedules, "trainer-budget-table": budget_table,
             "trainer-curve-laws": curve_laws}
