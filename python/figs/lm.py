"""Checkpoint-analysis figures on trained language models (`river analyze`; the lm-* experiments):
interpolation cross-sections, sharpness along WSD, token-uncertainty buckets, decay-drop prediction, spectra.

Losses are nats per predicted token of the byte model (= nats/byte). Labels come from the data.
"""
import matplotlib.pyplot as plt
import numpy as np

from .common import color, cycle, read_csv, save, style, title, unique

KIND = {"constant": "#1f77b4", "decay": "#d62728"}
CHECKPOINT = {"early": "#9ecae1", "fork": "#1f77b4", "stable": "#1f77b4", "decayed": "#d62728"}
PHASE = {"stable": "#1f77b4", "decay": "#d62728"}


def interpolation(data, fig_dir):
    style()
    t = read_csv(data / "lm_interpolation.csv")
    kinds = unique(t["kind"])
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 3.9), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        m = t["kind"] == kind
        pairs = unique([(a, b) for a, b in zip(t["step_a"][m], t["step_b"][m])])
        for i, (a, b) in enumerate(pairs):
            for j, seed in enumerate(unique(t["seed"][m])):
                r = m & (t["step_a"] == a) & (t["step_b"] == b) & (t["seed"] == seed)
                ax.plot(t["alpha"][r], t["loss"][r], color=cycle(i), lw=1.2, alpha=0.85,
                        label=f"step {int(a)} → {int(b)}" if j == 0 else None)
        ax.axvline(0, color="k", lw=0.6, ls=":")
        ax.axvline(1, color="k", lw=0.6, ls=":")
        ax.set_xlabel("α  (w = (1 − α)·w_A + α·w_B)")
        ax.set_ylabel("validation loss (nats/byte)")
        what = ("two checkpoints of the constant-LR run" if kind == "constant"
                else "pre-decay checkpoint → its decayed branch")
        title(ax, f"{kind}: {what} (one line per seed)", 55)
        ax.legend(fontsize=7)
    return [save(fig, fig_dir, "lm_interpolation.png")]


def sharpness(data, fig_dir):
    style()
    t = read_csv(data / "lm_sharpness.csv")
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.9))
    for j, seed in enumerate(unique(t["seed"])):
        for run in unique(t["run"]):
            m = (t["seed"] == seed) & (t["run"] == run)
            style_kw = dict(color=color("constant") if run == "main" else KIND["decay"], marker="o", ms=3, lw=1)
            lab = (f"{run} run" if j == 0 else None)
            ax[0].plot(t["step"][m], t["lambda_max"][m], label=lab, **style_kw)
            ax[1].plot(t["step"][m], t["lambda_max_preconditioned"][m], label=lab, **style_kw)
    thr = np.isfinite(t["threshold"].astype(float))
    if thr.any():
        order = np.argsort(t["step"][thr])
        ax[1].plot(t["step"][thr][order], t["threshold"][thr][order], color="k", ls="--", lw=1,
                   label="Adam stability threshold (2+2β₁)/((1−β₁)η)")
        ax[1].set_yscale("log")
    ax[0].set_xlabel("step"); ax[0].set_ylabel("λ_max of the Hessian (nats/byte per unit²)")
    ax[1].set_xlabel("step"); ax[1].set_ylabel("λ_max of P^(-1/2) H P^(-1/2)")
    title(ax[0], "Raw sharpness along the WSD main run and its decay (one line per seed)", 50)
    title(ax[1], "Adam-preconditioned sharpness vs Adam's edge of stability", 50)
    ax[0].legend(); ax[1].legend(fontsize=7)
    return [save(fig, fig_dir, "lm_sharpness.png")]


def token_buckets(data, fig_dir):
    style()
    c = read_csv(data / "lm_token_buckets_change.csv")
    b = read_csv(data / "lm_token_buckets.csv")
    fig, ax = plt.subplots(1, 3, figsize=(14, 3.9))
    buckets = sorted(unique(c["bucket"]))
    width = 0.38
    for k, phase in enumerate(unique(c["phase"])):
        for a, value, ylab in [(ax[0], "loss_change", "loss change per token (nats/byte)"),
                               (ax[1], "share", "share of the phase's total change")]:
            means, sds = [], []
            for bk in buckets:
                v = c[value][(c["phase"] == phase) & (c["bucket"] == bk)].astype(float)
                means.append(np.mean(v)); sds.append(np.std(v))
            a.bar(np.array(buckets) + (k - 0.5) * width, means, width, yerr=sds, capsize=3,
                  color=PHASE.get(phase, cycle(k)), label=f"{phase} phase")
            a.set_ylabel(ylab)
    for a in ax[:2]:
        a.set_xticks(buckets)
        a.set_xlabel("uncertainty bucket (0 = most deterministic, by n-gram entropy)")
        a.legend()
    title(ax[0], "Per-bucket loss change over the stable phase and over the decay (mean ± sd over seeds)", 50)
    title(ax[1], "Each bucket's share of the phase's improvement", 50)
    for k, ck in enumerate(unique(b["checkpoint"])):
        m = b["checkpoint"] == ck
        means = [np.mean(b["mean_loss"][m & (b["bucket"] == bk)].astype(float)) for bk in buckets]
        hi = [np.mean(b["uncertainty_hi"][m & (b["bucket"] == bk)].astype(float)) for bk in buckets]
        ax[2].plot(buckets, means, marker="o", color=CHECKPOINT.get(ck, cycle(k)), label=ck)
    ax[2].set_xticks(buckets)
    ax[2].set_xlabel("uncertainty bucket")
    ax[2].set_ylabel("mean loss (nats/byte)")
    title(ax[2], "Mean loss per bucket at each checkpoint (mean over seeds)", 50)
    ax[2].legend()
    return [save(fig, fig_dir, "lm_token_buckets.png")]


def decay_prediction(data, fig_dir):
    style()
    t = read_csv(data / "lm_decay_prediction.csv")
    fit = read_csv(data / "lm_decay_prediction_fit.csv")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    columns = [("predicted_drop", "checkpoint-v", "P from the checkpoint's v̂"),
               ("predicted_drop_mean_v", "mean-v", "P from the mean g² over the draws")]
    peaks = unique(t["peak"])
    forks = unique(t["step"])
    markers = ["o", "s", "^", "D", "v", "P"]
    for ax, (col, name, desc) in zip(axes, columns):
        x = t[col].astype(float)
        for i, peak in enumerate(peaks):
            for j, fork in enumerate(forks):
                m = (t["peak"] == peak) & (t["step"] == fork)
                ax.scatter(x[m], t["measured_drop"][m], color=cycle(i), marker=markers[j % len(markers)], s=28,
                           label=f"peak {peak:g}, fork {int(fork)}")
        finite = np.isfinite(x) & (x > 0)
        hi = max(np.nanmax(x[finite]) if finite.any() else 1.0, np.nanmax(t["measured_drop"].astype(float)))
        lo = min(np.nanmin(x[finite]) if finite.any() else 1e-3, np.nanmin(t["measured_drop"].astype(float)))
        lo = max(lo, 1e-4)
        grid = np.geomspace(lo * 0.8, hi * 1.2, 50)
        ax.plot(grid, grid, color="k", lw=0.8, ls=":", label="y = x")
        r = (fit["prediction"] == name) & (fit["measure"] == "measured-drop")
        if r.any():
            slope, r2 = float(fit["slope"][r][0]), float(fit["r2"][r][0])
            ax.plot(grid, slope * grid, color="#7f7f7f", lw=1, label=f"fit y = {slope:.3g}·x, R² = {r2:.2f}")
        ax.set_xscale("log"); ax.set_yscale("log")
        ax.set_xlabel("predicted drop (η_b − η_a)·Tr(P^(-1/2) Σ_B P^(-1/2))/4 (nats/byte)")
        ax.set_ylabel("measured drop, loss before − after (nats/byte)")
        title(ax, f"Decay drop: hill-term prediction vs measured ({desc})", 55)
        ax.legend(fontsize=6.5)
    return [save(fig, fig_dir, "lm_decay_prediction.png")]


def spectrum(data, fig_dir):
    style()
    t = read_csv(data / "lm_spectrum.csv")
    seeds = unique(t["seed"])
    fig, axes = plt.subplots(1, len(seeds), figsize=(4.6 * len(seeds), 3.8), squeeze=False)
    for ax, seed in zip(axes[0], seeds):
        for k, ck in enumerate(unique(t["checkpoint"])):
            m = (t["seed"] == seed) & (t["checkpoint"] == ck)
            step = int(t["step"][m][0])
            ax.plot(t["lambda"][m], np.maximum(t["density"][m].astype(float), 1e-12),
                    color=CHECKPOINT.get(ck, cycle(k)), lw=1.2, label=f"{ck} (step {step})")
        ax.set_yscale("log")
        ax.set_ylim(bottom=1e-6)
        ax.set_xlabel("Hessian eigenvalue λ (nats/byte per unit²)")
        ax.set_ylabel("SLQ spectral density")
        title(ax, f"Seed {int(seed)}: stable-phase vs decayed checkpoint", 45)
        ax.legend()
    return [save(fig, fig_dir, "lm_spectrum.png")]


RENDERERS = {
    "lm-interpolation": interpolation,
    "lm-sharpness": sharpness,
    "lm-token-buckets": token_buckets,
    "lm-decay-prediction": decay_prediction,
    "lm-spectrum": spectrum,
}
