"""Fitting the Multi-Power Law to the authors' split: `river curve fit` vs the authors' own PyTorch fitting
code, same curves, same run, several rounds; prints every timing, the ratios (median, min–max) and how
the fits agree.

    Benchmarks/run.sh curve_fit_vs_torch --peer /path/to/MultiPowerLaw [--size 400 --rounds 3]

The peer is the authors' unmodified code (https://github.com/thu-yao-01-luo/MultiPowerLaw, commit
8da9f19, MIT): a checkout given by --peer, outside this repository, run in a subprocess with that
checkout as working directory. Timed there: `load_data` → `initialize_params` (135 L-BFGS-B starts of
the reduced law) → `generate_init_params` → `mpl_adam_fit` (≤ 200 AdamW steps) — their whole fit, without
the evaluation and LR-schedule optimisation `main.py` runs afterwards. It needs numpy, scipy, torch,
matplotlib and tqdm (not scikit-learn: only their evaluation imports it).

Swift side, each a whole `river` process (start-up and CSV parsing included), exact LRs from
datasets/multipowerlaw/schedules:
- `river curve fit --law multi-power --optimizer adamw`: the same procedure (its parameters are checked
  against the peer's, 1e-4 relative);
- `river curve fit --law multi-power` (default `--optimizer lm`): multi-start Levenberg–Marquardt to
  convergence, the fit `river curve` uses (a lower objective than the peer's early-stopped one).
Both sides use every core (torch's intra-op threads; river's per-point split). Timings on a loaded
machine mean little: run it on an idle one.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
DATA = REPO / "datasets" / "multipowerlaw"
TRAIN = ["cosine_24000", "constant_24000", "wsdcon_9"]

PEER = r"""
import json, logging, sys, tempfile, time
sys.path.insert(0, ".")
t0 = time.perf_counter()
from src.config import FOLDER_PATHS, TRAIN_SET, TEST_SET
from src.data_loader import load_data
from src.fitting import initialize_params, generate_init_params, mpl_adam_fit
data = load_data(FOLDER_PATHS[sys.argv[1]])
init = initialize_params(data, TRAIN_SET)
with tempfile.TemporaryDirectory() as figs:
    best, loss = mpl_adam_fit(data, TRAIN_SET, TEST_SET, generate_init_params(init), figs)
print(json.dumps({"seconds": time.perf_counter() - t0, "params": [float(x) for x in best], "loss": float(loss)}))
"""


def river_fit(size, optimizer, out):
    exe = os.environ.get("RIVER_BIN", str(REPO / ".build" / "release" / "river"))
    runs = ",".join(str(DATA / f"csv_{size}" / f"{n}.csv") for n in TRAIN)
    scheds = ",".join(str(DATA / "schedules" / f"{n}.csv") for n in TRAIN)
    t0 = time.perf_counter()
    proc = subprocess.run([exe, "curve", "fit", "--law", "multi-power", "--optimizer", optimizer, "--runs", runs,
                           "--schedule-files", scheds, "--out", str(out)], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"river curve fit failed:\n{proc.stderr}")
    fit = json.loads(proc.stdout)
    names = ["L0", "A", "alpha", "B", "C", "beta", "gamma"]
    return seconds, [fit["parameters"][n] for n in names], fit["objective"]


def peer_fit(peer, size):
    proc = subprocess.run([sys.executable, "-c", PEER, size], cwd=peer, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"the authors' fit failed in {peer}:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return r["seconds"], r["params"], r["loss"]


def spread(xs):
    return f"median {statistics.median(xs):.3g}, min {min(xs):.3g}, max {max(xs):.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", required=True, type=pathlib.Path,
                    help="a checkout of thu-yao-01-luo/MultiPowerLaw (commit 8da9f19), outside this repository")
    ap.add_argument("--size", default="400", choices=["25", "100", "400"])
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if not (a.peer / "src" / "fitting.py").exists():
        ap.error(f"--peer {a.peer}: no src/fitting.py; give a checkout of the MultiPowerLaw repository")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(a.rounds):
            ta, pa, fa = river_fit(a.size, "adamw", pathlib.Path(tmp) / "adamw.json")
            tl, pl, fl = river_fit(a.size, "lm", pathlib.Path(tmp) / "lm.json")
            tp, pp, fp = peer_fit(a.peer, a.size)
            agree = max(abs(x - y) / abs(y) for x, y in zip(pa, pp))
            rows.append((ta, tl, tp, agree))
            print(f"round {k + 1}: river adamw {ta:.2f} s, river lm {tl:.2f} s (objective {fl:.4g}), "
                  f"authors' PyTorch {tp:.1f} s (their best loss {fp:.4g}); adamw parameters vs theirs: "
                  f"max relative difference {agree:.1e}", flush=True)
    ta, tl, tp, agree = (list(c) for c in zip(*rows))
    print(f"size {a.size}M, {a.rounds} rounds")
    print(f"authors' procedure, river (--optimizer adamw) vs their PyTorch code: "
          f"{spread([p / s for s, p in zip(ta, tp)])} × faster")
    print(f"river's default fit (--optimizer lm) vs their PyTorch code: {spread([p / s for s, p in zip(tl, tp)])} × faster")
    print(f"parameters, river adamw vs theirs: max relative difference {max(agree):.1e} (checked ≤ 1e-4)")
    if max(agree) > 1e-4:
        sys.exit("the two implementations of the authors' procedure disagree")


if __name__ == "__main__":
    main()
