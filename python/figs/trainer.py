"""Trainer figures: WSD main + decay branches vs cosine, WSD-S vs WSD vs cyclic cosine, budget table."""
import matplotlib.pyplot as plt
import numpy as np

from .common import read_csv, save, style

COL = {"wsd-main": "#7f7f7f", "wsd": "#1f77b4", "cosine": "#2ca02c", "wsds": "#d62728", "cyclic-cosine": "#9467bd"}


def _curves(t, schedule, value):
    """Mean over seeds of `value` per (run, step) for one schedule: {run: (steps, mean)}."""
    out = {}
    m = (t["schedule"] == schedule) & np.isfinite(t[value].astype(float))
    for run in dict.fromkeys(t["run"][m]):
        r = m & (t["run"] == run)
        steps = np.unique(t["step"][r].astype(float))
        mean = [np.nanmean(t[value][r & (t["step"] == s)].astype(float)) for s in steps]
        out[run] = (steps, np.array(mean))
    return out


def _seedless(run):
    return run.split("-seed")[0].split("_seed")[0]


def _plot(ax_lr, ax_loss, t, schedules):
    for sched in schedules:
        curves = _curves(t, sched, "val_loss")
        lrs = _curves(t, sched, "lr")
        seen = set()
        for run, (s, v) in curves.items():
            key = _seedless(run)
            label = sched if sched not in seen else None
            seen.add(sched)
            ax_loss.plot(s, v, color=COL.get(sched), marker=".", ms=3, lw=1.2, label=label)
        for run, (s, v) in lrs.items():
            ax_lr.plot(s, v, color=COL.get(sched), lw=1)
    ax_lr.set_ylabel("learning rate")
    ax_loss.set_ylabel("validation loss (nats/byte)")
    ax_loss.set_xlabel("step")
    ax_loss.legend()


def wsd_branches(data, fig_dir):
    style()
    t = read_csv(data / "trainer-wsd-branches.csv")
    fig, ax = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    _plot(ax[0], ax[1], t, ["wsd-main", "wsd", "cosine"])
    ax[0].set_title("WSD: constant main branch with decay branches, vs a cosine run per budget (mean over seeds)")
    return [save(fig, fig_dir, "trainer_wsd_branches.png")]


def schedules(data, fig_dir):
    style()
    t = read_csv(data / "trainer-schedules.csv")
    fig, ax = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    _plot(ax[0], ax[1], t, ["wsd-main", "wsd", "wsds", "cyclic-cosine"])
    ax[0].set_title("WSD-S vs WSD vs cyclic cosine (mean over seeds)")
    return [save(fig, fig_dir, "trainer_schedules.png")]


def budget_table(data, fig_dir):
    style()
    t = read_csv(data / "trainer-budget-table.csv")
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    for sched in dict.fromkeys(t["schedule"]):
        m = t["schedule"] == sched
        ax[0].errorbar(t["budget"][m], t["val_loss_mean"][m], yerr=t["val_loss_std"][m], marker="o", capsize=3,
                       color=COL.get(sched), label=sched)
        ax[1].plot(t["budget"][m], t["compute_steps"][m], marker="o", color=COL.get(sched), label=sched)
    ax[0].set_xscale("log", base=2); ax[0].set_xlabel("budget (steps)"); ax[0].set_ylabel("final val loss (mean ± std)")
    ax[0].set_title("Validation loss at each budget"); ax[0].legend()
    ax[1].set_xscale("log", base=2); ax[1].set_xlabel("budget (steps)"); ax[1].set_ylabel("optimizer steps spent (cumulative)")
    ax[1].set_title("Compute spent to produce the budget checkpoints"); ax[1].legend()
    return [save(fig, fig_dir, "trainer_budget_table.png")]


RENDERERS = {"trainer-wsd-branches": wsd_branches, "trainer-schedules": schedules, "trainer-budget-table": budget_table}
