"""Trainer figures: WSD main + decay branches vs cosine, WSD-S vs WSD vs cyclic cosine, budget table,
loss vs river time (Σ η) and final LR, the WSD decay ablation."""
import matplotlib.colors as mcolors
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
    """LR and loss of every schedule in the table, one colour per schedule (shades per budget for the runs
    of one schedule that serve different budgets), labels from the data: validation loss as dots, the
    smoothed training loss (trailing mean over 1% of a run) as a thin line of the same colour."""
    for sched in unique(t["schedule"]):
        loss, lrs = _curves(t, sched, "val_loss"), _curves(t, sched, "lr")
        smooth = _curves(t, sched, "loss_smooth")
        cols = shades(sched, len(loss)) if len(loss) > 1 else [color(sched)]
        for k, (c, (budget, (s, v))) in enumerate(zip(cols, loss.items())):
            label = sched if len(loss) == 1 else f"{sched} → {int(budget)}"
            ax_loss.plot(s, v, color=c, marker=".", ms=3, lw=0, label=label)
            if budget in smooth:
                ss, sv = smooth[budget]
                ax_loss.plot(ss, sv, color=c, lw=0.8, alpha=0.8)
        for c, (budget, (s, v)) in zip(cols, lrs.items()):
            ax_lr.plot(s, v, color=c, lw=1)
    ax_lr.set_ylabel("learning rate")
    ax_loss.set_ylabel("loss (nats/byte): dots validation,\nline smoothed training")
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


BASE_ARMS = ["wsd", "wsds", "cyclic-cosine", "cosine"]


def budget_table(data, fig_dir):
    style()
    t = read_csv(data / "trainer-budget-table.csv")
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    for sched in [a for a in unique(t["arm"]) if a in BASE_ARMS]:
        m = t["arm"] == sched
        ax[0].errorbar(t["budget"][m], t["val_loss_mean"][m], yerr=t["val_loss_std"][m], marker="o", capsize=3,
                       color=color(sched), label=sched)
        ax[1].plot(t["budget"][m], t["compute_steps"][m], marker="o", color=color(sched), label=sched)
    ax[0].set_xscale("log", base=2); ax[0].set_xlabel("budget (steps)"); ax[0].set_ylabel("final val loss (mean ± std)")
    title(ax[0], "Validation loss at each budget"); ax[0].legend()
    ax[1].set_xscale("log", base=2); ax[1].set_xlabel("budget (steps)"); ax[1].set_ylabel("optimizer steps spent (cumulative)")
    title(ax[1], "Compute spent to produce the budget checkpoints"); ax[1].legend()
    return [save(fig, fig_dir, "trainer_budget_table.png")]


def river_time(data, fig_dir):
    """Final validation loss of every arm, seed and budget against its LR area Σ η (river time), coloured by
    its final LR, and against its final LR, coloured by Σ η; one marker per schedule family."""
    style()
    t = read_csv(data / "trainer-river-time.csv")
    ok = np.isfinite(t["val_loss"].astype(float))
    markers = {"wsd": "o", "wsds": "s", "cyclic-cosine": "^", "cosine": "D"}
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    lr = t["final_lr"].astype(float)
    area = t["lr_area"].astype(float)
    lr_norm = mcolors.LogNorm(vmin=np.nanmin(lr[ok]), vmax=np.nanmax(lr[ok]))
    area_norm = mcolors.Normalize(vmin=np.nanmin(area[ok]), vmax=np.nanmax(area[ok]))
    for fam in unique(t["schedule"]):
        m = ok & (t["schedule"] == fam)
        a = ax[0].scatter(area[m], t["val_loss"][m].astype(float), c=lr[m], norm=lr_norm, cmap="viridis",
                          marker=markers.get(fam, "o"), s=22, edgecolors="k", linewidths=0.3, label=fam)
        b = ax[1].scatter(lr[m], t["val_loss"][m].astype(float), c=area[m], norm=area_norm, cmap="plasma",
                          marker=markers.get(fam, "o"), s=22, edgecolors="k", linewidths=0.3, label=fam)
    fig.colorbar(a, ax=ax[0], label="final learning rate")
    fig.colorbar(b, ax=ax[1], label="LR area Σ η (river time)")
    ax[0].set_xlabel("LR area Σ η up to the budget (river time)"); ax[0].set_ylabel("final validation loss (nats/byte)")
    ax[1].set_xscale("log"); ax[1].set_xlabel("final learning rate (log scale)"); ax[1].set_ylabel("final validation loss (nats/byte)")
    title(ax[0], "Loss vs river time, coloured by the final LR (every arm, seed and budget)")
    title(ax[1], "Loss vs final LR, coloured by river time")
    for x in ax:
        x.legend(fontsize=7)
    return [save(fig, fig_dir, "trainer_river_time.png")]


def decay_ablation(data, fig_dir):
    """Left: each decay shape × length minus the sweep's own decay (inv, 10%) at the last budget, paired over
    seeds with 95% t intervals. Right: validation loss through the last budget's decay windows."""
    style()
    p = read_csv(data / "trainer-decay-ablation.csv")
    c = read_csv(data / "trainer-decay-ablation-curves.csv")
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    arms = list(p["arm"])
    y = np.arange(len(arms))
    mean = p["diff_mean"].astype(float)
    lo, hi = p["ci95_low"].astype(float), p["ci95_high"].astype(float)
    err = np.vstack([mean - lo, hi - mean])
    err = np.where(np.isfinite(err), err, 0)
    ax[0].errorbar(mean, y, xerr=err, fmt="o", color=color("wsd"), capsize=3)
    ax[0].axvline(0, color="k", lw=0.8)
    ax[0].set_yticks(y, [a.removeprefix("wsd-") for a in arms])
    ax[0].set_xlabel("Δ final validation loss vs inv 10% (nats/byte; < 0 better)")
    title(ax[0], "WSD decay shape × length at the last budget (paired, 95% CI)")
    for i, arm in enumerate(unique(c["arm"])):
        m = (c["arm"] == arm) & np.isfinite(c["val_loss"].astype(float))
        steps = np.unique(c["step"][m].astype(float))
        vals = [np.nanmean(c["val_loss"][m & (c["step"] == s)].astype(float)) for s in steps]
        label = "inv-10pct (sweep's own)" if arm == "wsd" else arm.removeprefix("wsd-")
        ax[1].plot(steps, vals, marker=".", ms=3, lw=1, color=cycle(i), label=label)
    last = float(np.nanmax(c["step"].astype(float)))
    ax[1].set_xlim(0.75 * last, last * 1.01)
    ax[1].set_xlabel("step"); ax[1].set_ylabel("validation loss (nats/byte, mean over seeds)")
    title(ax[1], "Validation loss through the last budget's decays")
    ax[1].legend(fontsize=7, ncol=2)
    return [save(fig, fig_dir, "trainer_decay_ablation.png")]


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
        law0 = r & (t["law"] == laws[0])
        seen = law0 & np.isfinite(t["loss"].astype(float))
        ax.plot(t["step"][seen], t["loss"][seen], "k.", ms=4, label="measured")
        for i, law in enumerate(laws):
            q = r & (t["law"] == law)
            k = (m["run"] == run) & (m["law"] == law)
            mae = float(m["mae"][k][0]) if k.any() else float("nan")
            ax.plot(t["step"][q], t["predicted"][q], color=cycle(i), lw=1.2, label=f"{law} (MAE {mae:.3f})")
        role, sched = t["role"][law0][0], t["schedule"][law0][0]
        # The y range of the measured points and of the curves over the measured window (a decay branch
        # has only its last points measured: the window is its decay, with a quarter of the run before it).
        steps = t["step"][r].astype(float)
        first = steps.max() * 0.75 if seen.sum() < 5 else steps.min()
        if seen.any():
            first = min(first, float(t["step"][seen].astype(float).min()))
        window = r & (t["step"].astype(float) >= first)
        vals = np.concatenate([t["predicted"][window].astype(float), t["loss"][seen].astype(float)])
        vals = vals[np.isfinite(vals)]
        lo, hi = (np.percentile(vals, 2), np.percentile(vals, 98)) if seen.sum() >= 5 else (vals.min(), vals.max())
        pad = 0.08 * (hi - lo) + 1e-3
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlim(first - 0.02 * steps.max(), steps.max() * 1.02)
        peak = next((p[len("peak-"):] for p in run.split("/") if p.startswith("peak-")), None)  # tuned sweeps
        name = run.split("/")[-1]
        label = ", ".join(([] if name.startswith(sched) else [sched]) + ([f"peak {peak}"] if peak else []) + [role])
        title(ax, f"{name} ({label})", 40)
        ax.set_xlabel("step")
        ax.set_ylabel("validation loss")
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(runs):]:
        ax.remove()
    return [save(fig, fig_dir, "trainer_curve_laws.png")]


RENDERERS = {"trainer-wsd-branches": wsd_branches, "trainer-schedules": schedules, "trainer-budget-table": budget_table,
             "trainer-river-time": river_time, "trainer-decay-ablation": decay_ablation,
             "trainer-curve-laws": curve_laws}
