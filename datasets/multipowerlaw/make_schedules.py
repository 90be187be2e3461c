"""Writes schedules/NAME.csv: the exact per-step learning rates of the nine published runs as LR knots.

The formulas are those of README.md ("The exact per-step schedules"), i.e. the authors' loader
(`src/lr_schedules.py` of thu-yao-01-luo/MultiPowerLaw). Each file has columns `step,lr,loss` with an empty
loss: a `river curve` run file that only gives the LR, read with linear interpolation between rows.
Piecewise-linear parts (warmup, constant stages, the abrupt wsdcon drop, the linear wsdld decay) are exact
with two knots each; the curved parts get a knot every KNOT_EVERY steps (cosine) or every 4 steps (geometric decay), which
keeps the interpolated LR within 2e-10 of the formula (LRs are ~1e-4) (printed below) and the files small.

Run: python datasets/multipowerlaw/make_schedules.py   (numpy only; rewrites the nine files)
"""
import os
import numpy as np

WARMUP, PEAK, END = 2160, 3e-4, 3e-5
KNOT_EVERY = 16
HERE = os.path.dirname(os.path.abspath(__file__))


def exact(name):
    """The authors' per-step LR array for steps 0..T-1."""
    warm = np.linspace(0, PEAK, WARMUP)
    if name.startswith("cosine"):
        total = int(name.split("_")[1])
        t = np.arange(total)[WARMUP:]
        return np.concatenate([warm, END + 0.5 * (PEAK - END) * (1 + np.cos(np.pi * (t - WARMUP) / (total - WARMUP)))])
    if name.startswith("constant"):
        total = int(name.split("_")[1])
        return np.concatenate([warm, np.full(total - WARMUP, PEAK)])
    if name.startswith("wsdcon"):
        low = int(name.split("_")[1]) * 1e-5
        return np.concatenate([warm, np.full(8000 - WARMUP, PEAK), np.full(16000 - 8000, low)])
    t = np.arange(24000)[20000:]
    if name.startswith("wsdld"):
        decay = PEAK * (1 - (t - 20000) / 4000) + END * (t - 20000) / 4000
    else:
        decay = PEAK ** ((24000 - t) / 4000) * END ** ((t - 20000) / 4000)
    return np.concatenate([warm, np.full(20000 - WARMUP, PEAK), decay])


def knots(name, lrs):
    total = len(lrs)
    k = {0, WARMUP - 1, WARMUP, total - 1}
    if name.startswith("wsdcon"):
        k |= {7999, 8000}
    elif name.startswith("wsd"):
        k |= {19999, 20000}
        if not name.startswith("wsdld"):
            k |= set(range(20000, total, 4))
    elif name.startswith("cosine"):
        k |= set(range(WARMUP, total, KNOT_EVERY))
    return np.array(sorted(k))


NAMES = ["constant_24000", "constant_72000", "cosine_24000", "cosine_72000", "wsd_20000_24000",
         "wsdld_20000_24000", "wsdcon_3", "wsdcon_9", "wsdcon_18"]

if __name__ == "__main__":
    os.makedirs(os.path.join(HERE, "schedules"), exist_ok=True)
    for name in NAMES:
        lrs = exact(name)
        ks = knots(name, lrs)
        err = np.max(np.abs(np.interp(np.arange(len(lrs)), ks, lrs[ks]) - lrs))
        with open(os.path.join(HERE, "schedules", name + ".csv"), "w") as f:
            f.write("step,lr,loss\n")
            for s in ks:
                f.write(f"{s},{float(lrs[s])!r},\n")
        print(f"{name}: {len(ks)} knots, max |interpolated - exact| = {err:.2e}")
