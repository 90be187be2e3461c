"""Trainer figures: WSD main + decay branches vs cosine, WSD-S vs WSD vs cyclic cosine, budget table."""
import matplotlib.pyplot as plt
import numpy as np

from .common import color, read_csv, save, shades, style, title, unique


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


RENDERERS = {"trainer-wsd-branches": wsd_branches, "trainer-schedules": schedules, "trainer-budget-table": budget_table}
