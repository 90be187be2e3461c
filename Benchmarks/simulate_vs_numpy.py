#!/usr/bin/env python3
"""Benchmark: `river simulate` (release) against two numpy implementations of the same simulation.

The simulation: SGD with isotropic Gaussian gradient noise (std sigma) on the straight valley
L = -s*x + 1/2 * lam * |y|^2 in D dimensions, under a WSD schedule (inv decay to 0.1*peak over the last
20%), S seeds, recording at every step the loss, river loss, hill loss, distance to the river and river
coordinate (mean and std over seeds), then writing the table as CSV. Three implementations, run
interleaved and each timed end to end (river: the whole process, including start-up and CSV writing;
numpy: simulation + CSV writing inside this process):

  loop        plain Python loop over steps and seeds, numpy vectors of length D per seed
  vectorised  Python loop over steps only, numpy arrays of shape (S, D)
  river       `river simulate ... --out FILE.csv`

Prints the median times and the ratios loop/river (goal >= 30) and vectorised/river, river's fixed cost (the
same command for 1 seed and 5 steps, timed in each round), and checks that the time-averaged stable-phase
hill loss agrees between river and numpy within 5 standard errors.

Usage: OPENBLAS_CORETYPE=SkylakeX python Benchmarks/simulate_vs_numpy.py [--dim 10] [--seed-count 256] [--steps 2000]
       (RIVER_BIN selects the binary; default .build/release/river)
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def schedule(steps, peak, decay_frac=0.2, r=0.1):
    """WSD with an `inv` decay: peak until steps - D, then peak / (1 + (1/r - 1) k/D)."""
    d = int(decay_frac * steps)
    lr = np.full(steps, peak)
    k = np.arange(d)
    lr[steps - d:] = peak / (1 + (1 / r - 1) * k / d)
    return lr


HEADER = ("step,lr,cumulative_lr,loss,river_loss,hill_loss,distance_to_river,river_coord,"
          "loss_std,river_loss_std,hill_loss_std,distance_to_river_std,river_coord_std")


def write_table(path, lr, mean, std):
    steps = len(lr)
    table = np.column_stack([np.arange(steps), lr, np.cumsum(lr), mean, std])
    np.savetxt(path, table, delimiter=",", header=HEADER, comments="", fmt="%.17g")


def numpy_loop(a, lr, path):
    rng = np.random.default_rng(a.seed)
    lam, s, sigma = a.hill_curvature, a.river_slope, a.noise
    steps = len(lr)
    mean = np.zeros((steps, 5))
    std = np.zeros((steps, 5))
    ws = [np.zeros(a.dim) for _ in range(a.seeds)]
    for t in range(steps):
        rows = []
        for w in ws:
            g = np.empty(a.dim)
            g[0] = -s
            g[1:] = lam * w[1:]
            g += sigma * rng.standard_normal(a.dim)
            w -= lr[t] * g
            hill = 0.5 * lam * np.dot(w[1:], w[1:])
            river = -s * w[0]
            rows.append((river + hill, river, hill, np.sqrt(np.dot(w[1:], w[1:])), w[0]))
        rows = np.array(rows)
        mean[t] = rows.mean(axis=0)
        std[t] = rows.std(axis=0, ddof=1)
    write_table(path, lr, mean, std)
    return mean


def numpy_vectorised(a, lr, path):
    rng = np.random.default_rng(a.seed)
    lam, s, sigma = a.hill_curvature, a.river_slope, a.noise
    steps = len(lr)
    w = np.zeros((a.seeds, a.dim))
    g = np.empty_like(w)
    mean = np.zeros((steps, 5))
    std = np.zeros((steps, 5))
    for t in range(steps):
        g[:, 0] = -s
        np.multiply(lam, w[:, 1:], out=g[:, 1:])
        g += sigma * rng.standard_normal((a.seeds, a.dim))
        w -= lr[t] * g
        y2 = np.einsum("ij,ij->i", w[:, 1:], w[:, 1:])
        hill = 0.5 * lam * y2
        river = -s * w[:, 0]
        m = np.column_stack([river + hill, river, hill, np.sqrt(y2), w[:, 0]])
        mean[t] = m.mean(axis=0)
        std[t] = m.std(axis=0, ddof=1)
    write_table(path, lr, mean, std)
    return mean


def run_river(river, a, path, steps=None, seeds=None):
    cmd = [river, "simulate", "--landscape", "straight-valley", "--dim", str(a.dim),
           "--hill-curvature", str(a.hill_curvature), "--river-slope", str(a.river_slope),
           "--noise", str(a.noise), "--optimizer", "sgd", "--kind", "wsd", "--steps", str(steps or a.steps),
           "--peak", str(a.peak), "--decay", "0.2", "--shape", "inv", "--min-ratio", "0.1",
           "--seed-count", str(seeds or a.seeds), "--seed", str(a.seed), "--out", path]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def stable_hill(mean_hill, steps):
    """Mean hill loss over the second half of the stable phase."""
    lo, hi = int(0.4 * steps), int(0.8 * steps)
    return float(np.mean(mean_hill[lo:hi]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--seed-count", dest="seeds", type=int, default=256)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--hill-curvature", type=float, default=4.0)
    ap.add_argument("--river-slope", type=float, default=0.1)
    ap.add_argument("--noise", type=float, default=1.0)
    ap.add_argument("--peak", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    river = os.environ.get("RIVER_BIN", ".build/release/river")
    print(f"D={a.dim} seeds={a.seeds} steps={a.steps} repeats={a.repeats} numpy {np.__version__} river {river}")
    lr = schedule(a.steps, a.peak)

    loop_s, vec_s, river_s, fixed_s = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "river.csv")
        run_river(river, a, out)  # warm-up (page cache)
        for r in range(a.repeats):
            t0 = time.perf_counter()
            loop_mean = numpy_loop(a, lr, os.path.join(tmp, "loop.csv"))
            loop_s.append(time.perf_counter() - t0)
            river_s.append(run_river(river, a, out))
            # The same process with one seed and 5 steps: what river pays whatever the work (loading its
            # libraries, parsing, writing a table).
            fixed_s.append(run_river(river, a, os.path.join(tmp, "fixed.csv"), steps=5, seeds=1))
            t0 = time.perf_counter()
            vec_mean = numpy_vectorised(a, lr, os.path.join(tmp, "vec.csv"))
            vec_s.append(time.perf_counter() - t0)
            print(f"  repeat {r}: numpy loop {loop_s[-1]:.3f} s   numpy vectorised {vec_s[-1]:.4f} s   "
                  f"river {river_s[-1]:.4f} s")
        data = np.genfromtxt(out, delimiter=",", names=True)

    # Same simulation? Stable-phase hill loss: river vs numpy (both within Monte Carlo error of each
    # other; the exact stationary value is eta*(D-1)*sigma^2/(2(2-eta*lam))).
    eta, lam = a.peak, a.hill_curvature
    exact = eta * (a.dim - 1) * a.noise ** 2 / (2 * (2 - eta * lam))
    h_river = stable_hill(data["hill_loss"], a.steps)
    h_loop, h_vec = stable_hill(loop_mean[:, 2], a.steps), stable_hill(vec_mean[:, 2], a.steps)
    # Rough standard error: per-step std / sqrt(seeds * independent windows (~ 0.4 steps * 2 eta lam)).
    n_ind = max(1.0, 0.4 * a.steps * 2 * eta * lam)
    se = float(np.mean(data["hill_loss_std"][int(0.4 * a.steps):int(0.8 * a.steps)])) / np.sqrt(a.seeds * n_ind)
    print(f"stable hill loss: river {h_river:.5f}  numpy loop {h_loop:.5f}  numpy vectorised {h_vec:.5f}  "
          f"exact {exact:.5f}  (standard error ~{se:.5f})")
    ok = all(abs(h - exact) < 5 * se * np.sqrt(2) for h in (h_river, h_loop, h_vec))

    lm, vm, rm = statistics.median(loop_s), statistics.median(vec_s), statistics.median(river_s)
    print(f"median: numpy loop {lm:.3f} s, numpy vectorised {vm:.4f} s, river {rm:.4f} s")
    print(f"river's fixed cost (the same command with 1 seed x 5 steps: process start, libraries, parsing, "
          f"writing): median {statistics.median(fixed_s):.4f} s (rounds {min(fixed_s):.4f}-{max(fixed_s):.4f})")
    # Per-round ratios (each round runs the three back to back), for the spread.
    loop_r = [l / r for l, r in zip(loop_s, river_s)]
    vec_r = [v / r for v, r in zip(vec_s, river_s)]
    print(f"ratio numpy-loop / river       = {lm / rm:.1f}x (rounds {min(loop_r):.1f}-{max(loop_r):.1f}; goal >= 30)")
    print(f"ratio numpy-vectorised / river = {vm / rm:.2f}x (rounds {min(vec_r):.2f}-{max(vec_r):.2f}; goal >= 5)")
    if not ok:
        print("hill losses disagree beyond 5 standard errors", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
