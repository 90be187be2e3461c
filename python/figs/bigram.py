"""Bigram figures (paper §4): token uncertainty shapes the river valley."""
import matplotlib.pyplot as plt
import numpy as np

from .common import read_csv, save, style

RUN_COL = {"main": "#7f7f7f", "cosine": "#2ca02c", "wsds": "#d62728", "cyclic_cosine": "#9467bd"}


def _mean_curve(t, mask, col):
    steps = np.unique(t["step"][mask])
    vals = np.array([np.nanmean(t[col][mask & (t["step"] == s)]) for s in steps])
    return steps, vals


def _run_color(run):
    return RUN_COL.get(run, "#1f77b4")


def wsd_curve(data, fig_dir):
    """The WSD loss curve reproduced on the bigram: main run, decay branches, cosine, WSD-S, cyclic cosine."""
    style()
    t = read_csv(data / "bigram_wsd_curve.csv")
    configs = list(dict.fromkeys(t["config"]))
    fig, ax = plt.subplots(2, len(configs), figsize=(6 * len(configs), 6), sharex="col",
                           gridspec_kw={"height_ratios": [1, 2]}, squeeze=False)
    for k, cfg in enumerate(configs):
        for run in dict.fromkeys(t["run"][t["config"] == cfg]):
            m = (t["config"] == cfg) & (t["run"] == run)
            s, lr = _mean_curve(t, m, "lr")
            s, loss = _mean_curve(t, m, "excess")
            label = "WSD branch" if run.startswith("branch") else run
            if run.startswith("branch") and run != "branch_1000":
                label = None
            ax[0, k].plot(s, lr, color=_run_color(run), lw=1)
            ax[1, k].plot(s, loss, color=_run_color(run), lw=1.2, label=label)
        ax[0, k].set_title(f"bigram {cfg}: LR"); ax[0, k].set_ylabel("lr")
        ax[1, k].set_title("excess loss over the entropy floor (mean over seeds)"); ax[1, k].set_xlabel("step")
        ax[1, k].set_ylabel("loss − entropy floor"); ax[1, k].set_yscale("log"); ax[1, k].set_xlim(left=100)
        ax[1, k].legend()
    return [save(fig, fig_dir, "bigram_wsd_curve.png")]


def class_loss(data, fig_dir):
    """Per-class loss under WSD with branches: deterministic falls in the stable phase, uncertain in the decay."""
    style()
    t = read_csv(data / "bigram_class_loss.csv")
    configs = list(dict.fromkeys(t["config"]))
    fig, ax = plt.subplots(2, len(configs), figsize=(4.2 * len(configs), 6), squeeze=False, sharex="col")
    for k, cfg in enumerate(configs):
        for run in dict.fromkeys(t["run"][t["config"] == cfg]):
            m = (t["config"] == cfg) & (t["run"] == run)
            col = "#7f7f7f" if run == "main" else "#1f77b4"
            s, det = _mean_curve(t, m, "deterministic_loss")
            s, unc = _mean_curve(t, m, "uncertain_excess")
            ax[0, k].plot(s, det, color=col, lw=1.1, label=("main (constant)" if run == "main" else
                                                           ("decay branches" if run == "branch_1000" else None)))
            ax[1, k].plot(s, unc, color=col, lw=1.1)
        ax[0, k].set_yscale("log"); ax[1, k].set_yscale("log")
        ax[0, k].set_title(f"{cfg}: deterministic-token loss")
        ax[1, k].set_title("uncertain-token excess loss"); ax[1, k].set_xlabel("step")
        ax[0, k].legend()
    return [save(fig, fig_dir, "bigram_class_loss.png")]


def eta_scaling(data, fig_dir):
    style()
    t = read_csv(data / "bigram_eta_scaling.csv")
    fig, a = plt.subplots(figsize=(5.5, 3.6))
    for start in dict.fromkeys(t["start"]):
        m = t["start"] == start
        a.errorbar(t["eta"][m], t["hill_mean"][m], yerr=2 * t["hill_se"][m], marker="o", ms=4, capsize=2,
                   label=f"simulated hill excess (start: {start})")
    m = t["start"] == t["start"][0]
    a.plot(t["eta"][m], t["predicted_exact"][m], "k-", label="exact Σηλ/(2B(2−ηλ))")
    a.plot(t["eta"][m], t["predicted_linear"][m], "k--", label="η·TrΣ/4 (linear)")
    a.set_xscale("log"); a.set_yscale("log"); a.set_xlabel("constant learning rate η"); a.set_ylabel("stationary hill excess")
    a.legend(fontsize=7)
    return [save(fig, fig_dir, "bigram_eta_scaling.png")]


def spectrum(data, fig_dir):
    style()
    t = read_csv(data / "bigram_spectrum.csv")
    phases = list(dict.fromkeys(t["phase"]))
    fig, ax = plt.subplots(1, len(phases), figsize=(5.5 * len(phases), 3.6), squeeze=False)
    for k, ph in enumerate(phases):
        m = (t["phase"] == ph) & (t["seed"] == t["seed"][t["phase"] == ph][0])
        order = np.argsort(-t["eigenvalue"][m])
        ev = t["eigenvalue"][m][order]
        a = ax[0, k]
        x = np.arange(len(ev))
        a.bar(x, t["mass_uncertain"][m][order], width=1.0, color="#d62728", label="mass on uncertain-token params")
        a.bar(x, t["mass_deterministic"][m][order], bottom=t["mass_uncertain"][m][order], width=1.0, color="#1f77b4",
              label="mass on deterministic-token params")
        a.set_xlabel("eigenvalue rank (largest first)"); a.set_ylabel("eigenvector mass")
        a.set_title(f"Hessian eigenvectors, {ph} phase")
        b = a.twinx()
        b.plot(x, np.maximum(ev, 1e-12), "k-", lw=1)
        b.set_yscale("log"); b.set_ylabel("eigenvalue")
        a.legend(loc="upper right", fontsize=7)
        a.set_xlim(-0.5, min(len(ev), 200))
    return [save(fig, fig_dir, "bigram_spectrum.png")]


def curvature(data, fig_dir):
    style()
    t = read_csv(data / "bigram_curvature.csv")
    groups = list(dict.fromkeys(zip(t["source"], t["config"])))
    fig, ax = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.6), squeeze=False)
    summ = read_csv(data / "bigram_curvature_summary.csv")
    for k, (src, cfg) in enumerate(groups):
        m = (t["source"] == src) & (t["config"] == cfg)
        a = ax[0, k]
        for cls in dict.fromkeys(t["class"][m]):
            mm = m & (t["class"] == cls)
            a.scatter(t["entropy"][mm], np.maximum(t["curvature"][mm], 1e-8), s=8, alpha=0.6, label=cls)
        sm = (summ["source"] == src) & (summ["config"] == cfg) & (summ["quantity"] == "spearman_curvature_entropy")
        rho = f"Spearman ρ = {summ['mean'][sm][0]:.2f} ± {summ['sd'][sm][0]:.2f}" if sm.any() else ""
        a.set_yscale("log"); a.set_xlabel("next-token entropy (nats)"); a.set_ylabel("per-token curvature")
        a.set_title(f"{src} / {cfg}\n{rho}", fontsize=8)
        a.legend(fontsize=7)
    return [save(fig, fig_dir, "bigram_curvature.png")]


RENDERERS = {"bigram-wsd-curve": wsd_curve, "bigram-class-loss": class_loss, "bigram-eta-scaling": eta_scaling,
             "bigram-spectrum": spectrum, "bigram-curvature": curvature}
