"""The Multi-Power Law authors' split with `river curve`: fit on cosine_24000, constant_24000, wsdcon_9,
predict the other six, for each law and model size; prints a markdown table of the held-out averages.

Usage: python python/curve_split.py [--laws multi-power,multi-power:adamw,momentum,river-valley]
                                    [--sizes 25,100,400] [--out results.json] [--keep DIR]
A law may carry the fit's optimizer after a colon (`multi-power:adamw`: the authors' procedure); the
default is `lm`.
Needs the release binary ($RIVER_BIN or .build/release/river). Exact LRs from datasets/multipowerlaw/schedules.
"""
import argparse
import json
import os
import pathlib
import subprocess
import tempfile

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
DATA = REPO / "datasets" / "multipowerlaw"
TRAIN = ["cosine_24000", "constant_24000", "wsdcon_9"]
TEST = ["constant_72000", "cosine_72000", "wsd_20000_24000", "wsdld_20000_24000", "wsdcon_3", "wsdcon_18"]
KEYS = ["r2", "mae", "rmse", "pred_e", "worst_e"]


def river(*args):
    exe = os.environ.get("RIVER_BIN", str(REPO / ".build" / "release" / "river"))
    proc = subprocess.run([exe, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"river {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc.stdout


def split(spec, size, workdir, seed=0):
    law, _, optimizer = spec.partition(":")
    optimizer = optimizer or "lm"
    runs = ",".join(str(DATA / f"csv_{size}" / f"{n}.csv") for n in TRAIN)
    scheds = ",".join(str(DATA / "schedules" / f"{n}.csv") for n in TRAIN)
    fit_path = pathlib.Path(workdir) / f"{law}_{optimizer}_{size}.json"
    fit = json.loads(river("curve", "fit", "--law", law, "--runs", runs, "--schedule-files", scheds,
                           "--out", fit_path, "--seed", seed, "--optimizer", optimizer))
    per_run = {}
    for name in TEST:
        per_run[name] = json.loads(river("curve", "predict", "--fit", fit_path,
                                         "--run", DATA / f"csv_{size}" / f"{name}.csv",
                                         "--schedule", DATA / "schedules" / f"{name}.csv",
                                         "--out", pathlib.Path(workdir) / f"{law}_{optimizer}_{size}_{name}.csv"))
    avg = {k: float(np.mean([per_run[n][k] for n in TEST])) for k in KEYS}
    return {"law": law, "optimizer": optimizer, "size": size, "fit": fit, "held_out": per_run, "average": avg}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--laws", default="multi-power:adamw,multi-power,momentum,river-valley")
    ap.add_argument("--sizes", default="25,100,400")
    ap.add_argument("--out")
    ap.add_argument("--keep", help="directory for the fits and predicted curves")
    a = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = a.keep or tmp
        os.makedirs(work, exist_ok=True)
        print("| law | size | R² | MAE | RMSE | PredE | WorstE | fit s | train Huber |")
        print("|---|---|---|---|---|---|---|---|---|")
        for size in a.sizes.split(","):
            for law in a.laws.split(","):
                r = split(law, size, work)
                results.append(r)
                m = r["average"]
                print(f"| {law} | {size}M | {m['r2']:.4f} | {m['mae']:.5f} | {m['rmse']:.5f} | {m['pred_e']:.5f} "
                      f"| {m['worst_e']:.5f} | {r['fit']['seconds']:.1f} | {r['fit']['objective']:.3g} |", flush=True)
                print("  per curve MAE: " + ", ".join(f"{n} {r['held_out'][n]['mae']:.5f}" for n in TEST), flush=True)
    if a.out:
        pathlib.Path(a.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
