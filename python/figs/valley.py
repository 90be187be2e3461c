"""Figures (ii)–(v): the toy river valley (data from the Dynamics experiments)."""
import matplotlib.pyplot as plt
import numpy as np

from .common import color, read_csv, save, style, title, unique


def valley_paths(data, fig_dir):
    """(ii) A 2-D curved valley: contours, the river, SGD paths under constant LR vs WSD."""
    style()
    c = read_csv(data / "valley_paths_contours.csv")
    xs, ys = np.unique(c["x"]), np.unique(c["y"])
    z = np.full((len(ys), len(xs)), np.nan)
    xi = {v: i for i, v in enumerate(xs)}
    yi = {v: i for i, v in enumerate(ys)}
    for x, y, l in zip(c["x"], c["y"], c["loss"]):
        z[yi[y], xi[x]] = l
    river = read_csv(data / "valley_paths_river.csv")
    p = read_csv(data / "valley_paths.csv")
    schedules = unique(p["schedule"])
    fig, ax = plt.subplots(1, len(schedules), figsize=(5.5 * len(schedules), 4), sharey=True, squeeze=False)
    ax = ax[0]
    for a, sched in zip(ax, schedules):
        a.contour(xs, ys, z, levels=30, cmap="Greys", linewidths=0.6)
        a.plot(river["x"], river["y_traced"], color=color("river"), lw=2, label="river (traced)")
        sel = p["schedule"] == sched
        seeds = np.unique(p["seed"][sel])
        for s in seeds[:3]:
            m = sel & (p["seed"] == s)
            a.plot(p["x"][m], p["y"][m], lw=0.8, alpha=0.9, color=color(sched))
        title(a, f"SGD paths, {sched} LR" + (" (bounce, then collapse onto the river)" if sched == "wsd" else ""))
        a.set_xlabel("x (river coordinate)")
        a.set_xlim(xs.min(), xs.max()); a.set_ylim(ys.min(), ys.max())
    ax[0].set_ylabel("y (hill coordinate)")
    ax[0].legend(loc="upper left")
    out = [save(fig, fig_dir, "valley_paths.png")]

    fig, a = plt.subplots(figsize=(6, 3))
    for sched in schedules:
        sel = p["schedule"] == sched
        steps = np.unique(p["step"][sel])
        d = [np.mean(p["distance_to_river"][sel & (p["step"] == t)]) for t in steps]
        a.plot(steps, d, label=sched, color=color(sched))
    a.set_yscale("log"); a.set_xlabel("step"); a.set_ylabel("mean distance to river"); a.legend()
    out.append(save(fig, fig_dir, "valley_distance_to_river.png"))
    return out


def loss_split(data, fig_dir):
    """(iii) Loss = river loss + hill loss under WSD, cosine and constant."""
    style()
    t = read_csv(data / "loss_split.csv")
    fig, ax = plt.subplots(1, 4, figsize=(15, 3.3))
    for sched in unique(t["schedule"]):
        m = t["schedule"] == sched
        col = color(sched)
        ax[0].plot(t["step"][m], t["lr"][m], color=col, label=sched)
        ax[1].plot(t["step"][m], t["loss"][m], color=col, label=sched)
        ax[2].plot(t["step"][m], t["river_loss"][m], color=col, label=sched)
        ax[3].plot(t["step"][m], t["hill_loss"][m], color=col, label=f"{sched} (sim)")
        ax[3].plot(t["step"][m], t["theory_hill_loss"][m], color=col, ls=":", lw=1.5)
    for a, name in zip(ax, ["learning rate", "loss", "river loss", "hill loss (dotted: exact theory)"]):
        a.set_title(name); a.set_xlabel("step")
    ax[1].legend(); ax[3].set_yscale("log")
    return [save(fig, fig_dir, "loss_split.png")]


def hill_loss_vs_lr(data, fig_dir):
    """(iv) Stationary hill loss vs η: simulation, exact Lyapunov theory, η·TrΣ/4."""
    style()
    t = read_csv(data / "hill_loss_vs_lr.csv")
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    a = ax[0]
    a.errorbar(t["lr"], t["simulated"], yerr=2 * t["simulated_se"], fmt="o", ms=4, label="SGD simulation (±2 s.e.)")
    a.plot(t["lr"], t["exact"], "-", label="exact (discrete Lyapunov)")
    a.plot(t["lr"], t["approx"], "--", label="η·TrΣ/4")
    a.set_xlabel("η"); a.set_ylabel("stationary hill loss"); a.set_xscale("log"); a.set_yscale("log"); a.legend()
    a = ax[1]
    a.errorbar(t["lr_times_max_curvature"], t["simulated"] / t["exact"], yerr=2 * t["simulated_se"] / t["exact"],
               fmt="o", ms=4, label="simulation / exact")
    a.plot(t["lr_times_max_curvature"], t["approx"] / t["exact"], "--", label="(η·TrΣ/4) / exact")
    a.axhline(1, color="k", lw=0.8)
    a.set_xlabel("η·λ_max"); a.set_ylabel("ratio to exact"); a.legend()
    return [save(fig, fig_dir, "hill_loss_vs_lr.png")]


def river_progress(data, fig_dir):
    """(v) River progress vs Σ η for several schedules: one curve, as the theory says."""
    style()
    t = read_csv(data / "river_progress.csv")
    rivers = unique(t["river"])
    fig, ax = plt.subplots(1, 2 * len(rivers), figsize=(6.5 * len(rivers), 3.4), squeeze=False)
    ax = ax[0]
    for k, river in enumerate(rivers):
        a, b = ax[2 * k], ax[2 * k + 1]
        for sched in unique(t["schedule"]):
            m = (t["river"] == river) & (t["schedule"] == sched)
            if not m.any():
                continue
            col = color(sched)
            opt = t["optimizer"][m][0]
            a.plot(t["step"][m], t["river_coord"][m], color=col, label=sched)
            b.plot(t["cumulative_lr"][m], t["river_coord"][m], color=col, label=sched)
        m = t["river"] == river
        order = np.argsort(t["cumulative_lr"][m])
        b.plot(t["cumulative_lr"][m][order], t["theory_river_coord"][m][order], "k:", lw=1.5, label="theory")
        title(a, f"{river} river ({opt}): progress vs step", 45); a.set_xlabel("step"); a.set_ylabel("river coordinate x")
        title(b, f"{river} river: progress vs Σ η", 45); b.set_xlabel("Σ η")
        b.legend()
    return [save(fig, fig_dir, "river_progress.png")]


RENDERERS = {"valley-paths": valley_paths, "loss-split": loss_split, "hill-loss-vs-lr": hill_loss_vs_lr,
             "river-progress": river_progress}
