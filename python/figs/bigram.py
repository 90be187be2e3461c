"""Bigram figures (paper §4): token uncertainty shapes the river valley.

The run tables (bigram_wsd_curve.csv, bigram_class_loss.csv) hold config, schedule (wsd-main, wsd, cosine,
wsds, cyclic-cosine), budget (a branch's budget, else the run's length), seed, then the record columns.
"""
import matplotlib.pyplot as plt
import numpy as np

from .common import PALETTE, color, read_csv, save, shades, style, title, unique


def _mean_curve(t, mask, col):
    steps = np.unique(t["step"][mask])
    vals = np.array([np.nanmean(t[col][mask & (t["step"] == s)]) for s in steps])
    return steps, vals


def _runs(t, cfg):
    """[(schedule, budget, mask, colour, label)] of one config, in table order; WSD branches in shades of
    the WSD colour, labelled with their budgets."""
    m = t["config"] == cfg
    keys = unique(zip(t["schedule"][m], t["budget"][m]))
    branches = [k for k in keys if k[0] == "wsd"]
    tones = dict(zip(branches, shades("wsd", len(branches))))
    out = []
    for sched, budget in keys:
        mask = m & (t["schedule"] == sched) & (t["budget"] == budget)
        if sched == "wsd":
            out.append((sched, budget, mask, tones[(sched, budget)], f"WSD branch → {int(budget)}"))
        else:
            out.append((sched, budget, mask, color(sched), "WSD main (constant)" if sched == "wsd-main" else sched))
    return out


def wsd_curve(data, fig_dir):
    """The WSD loss curve reproduced on the bigram: main run, decay branches, cosine, WSD-S, cyclic cosine."""
    style()
    t = read_csv(data / "bigram_wsd_curve.csv")
    configs = unique(t["config"])
    fig, ax = plt.subplots(2, len(configs), figsize=(6 * len(configs), 6), sharex="col",
                           gridspec_kw={"height_ratios": [1, 2]}, squeeze=False)
    for k, cfg in enumerate(configs):
        for sched, budget, m, col, label in _runs(t, cfg):
            s, lr = _mean_curve(t, m, "lr")
            s, loss = _mean_curve(t, m, "excess")
            ax[0, k].plot(s, lr, color=col, lw=1)
            ax[1, k].plot(s, loss, color=col, lw=1.2, label=label)
        title(ax[0, k], f"bigram {cfg}: LR"); ax[0, k].set_ylabel("lr")
        title(ax[1, k], "excess loss over the entropy floor (mean over seeds)"); ax[1, k].set_xlabel("step")
        ax[1, k].set_ylabel("loss − entropy floor"); ax[1, k].set_yscale("log")
        ax[1, k].set_xlim(left=max(1.0, float(np.nanmax(t["step"])) / 30))
        ax[1, k].legend(fontsize=7)
    return [save(fig, fig_dir, "bigram_wsd_curve.png")]


def class_loss(data, fig_dir):
    """Per-class loss under WSD with branches: deterministic falls in the stable phase, uncertain in the decay."""
    style()
    t = read_csv(data / "bigram_class_loss.csv")
    configs = unique(t["config"])
    fig, ax = plt.subplots(2, len(configs), figsize=(4.2 * len(configs), 6), squeeze=False, sharex="col")
    for k, cfg in enumerate(configs):
        for sched, budget, m, col, label in _runs(t, cfg):
            s, det = _mean_curve(t, m, "deterministic_loss")
            s, unc = _mean_curve(t, m, "uncertain_excess")
            ax[0, k].plot(s, det, color=col, lw=1.1, label=label)
            ax[1, k].plot(s, unc, color=col, lw=1.1)
        ax[0, k].set_yscale("log"); ax[1, k].set_yscale("log")
        title(ax[0, k], f"{cfg}: deterministic-token loss", 40)
        title(ax[1, k], "uncertain-token excess loss", 40); ax[1, k].set_xlabel("step")
        ax[0, k].legend(fontsize=6)
    return [save(fig, fig_dir, "bigram_class_loss.png")]


def eta_scaling(data, fig_dir):
    style()
    t = read_csv(data / "bigram_eta_scaling.csv")
    fig, a = plt.subplots(figsize=(5.5, 3.6))
    for i, start in enumerate(unique(t["start"])):
        m = t["start"] == start
        a.errorbar(t["eta"][m], t["hill_mean"][m], yerr=2 * t["hill_se"][m], marker="o", ms=4, capsize=2,
                   color=color(start, i), label=f"simulated hill excess (start: {start})")
    m = t["start"] == t["start"][0]
    a.plot(t["eta"][m], t["predicted_exact"][m], "k-", label="exact Σηλ/(2B(2−ηλ))")
    a.plot(t["eta"][m], t["predicted_linear"][m], "k--", label="η·TrΣ/4 (linear)")
    a.set_xscale("log"); a.set_yscale("log"); a.set_xlabel("constant learning rate η"); a.set_ylabel("stationary hill excess")
    a.legend(fontsize=7)
    return [save(fig, fig_dir, "bigram_eta_scaling.png")]


def spectrum(data, fig_dir):
    style()
    t = read_csv(data / "bigram_spectrum.csv")
    phases = unique(t["phase"])
    fig, ax = plt.subplots(1, len(phases), figsize=(5.5 * len(phases), 3.6), squeeze=False)
    for k, ph in enumerate(phases):
        m = (t["phase"] == ph) & (t["seed"] == t["seed"][t["phase"] == ph][0])
        order = np.argsort(-t["eigenvalue"][m])
        ev = t["eigenvalue"][m][order]
        a = ax[0, k]
        x = np.arange(len(ev))
        a.bar(x, t["mass_uncertain"][m][order], width=1.0, color=PALETTE["uncertain"], label="mass on uncertain-token params")
        a.bar(x, t["mass_deterministic"][m][order], bottom=t["mass_uncertain"][m][order], width=1.0,
              color=PALETTE["deterministic"], label="mass on deterministic-token params")
        a.set_xlabel("eigenvalue rank (largest first)"); a.set_ylabel("eigenvector mass")
        title(a, f"Hessian eigenvectors, {ph} phase")
        b = a.twinx()
        b.plot(x, np.maximum(ev, 1e-12), "k-", lw=1)
        b.set_yscale("log"); b.set_ylabel("eigenvalue")
        a.legend(loc="upper right", fontsize=7)
        a.set_xlim(-0.5, min(len(ev), 200))
    return [save(fig, fig_dir, "bigram_spectrum.png")]


def curvature(data, fig_dir):
    style()
    t = read_csv(data / "bigram_curvature.csv")
    groups = unique(zip(t["source"], t["config"]))
    fig, ax = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.6), squeeze=False)
    summ = read_csv(data / "bigram_curvature_summary.csv")
    for k, (src, cfg) in enumerate(groups):
        m = (t["source"] == src) & (t["config"] == cfg)
        a = ax[0, k]
        for i, cls in enumerate(unique(t["class"][m])):
            mm = m & (t["class"] == cls)
            a.scatter(t["entropy"][mm], np.maximum(t["curvature"][mm], 1e-8), s=8, alpha=0.6, color=color(cls, i), label=cls)
        sm = (summ["source"] == src) & (summ["config"] == cfg) & (summ["quantity"] == "spearman_curvature_entropy")
        rho = f"Spearman ρ = {summ['mean'][sm][0]:.2f} ± {summ['sd'][sm][0]:.2f}" if sm.any() else ""
        a.set_yscale("log"); a.set_xlabel("next-token entropy (nats)"); a.set_ylabel("per-token curvature")
        a.set_title(f"{src} / {cfg}\n{rho}", fontsize=8)
        a.legend(fontsize=7)
    return [save(fig, fig_dir, "bigram_curvature.png")]


RENDERERS = {"bigram-wsd-curve": wsd_curve, "bigram-class-loss": class_loss, "bigram-eta-scaling": eta_scaling,
             "bigram-spectrum": spectrum, "bigram-curvature": curvature}
