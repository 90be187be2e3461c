"""Time to a validation loss, side by side: nanoGPT's own CPU recipe (its unmodified train.py, run from a
checkout DIR) and `river train`, on the same corpus and the same validation text, in one run.

    Benchmarks/run.sh nanogpt_vs_river --peer DIR [--target 1.87 --threads 2 --rounds 1]

DIR is a checkout of https://github.com/karpathy/nanoGPT (outside this repository; its code is MIT and is
not copied here). The corpus is the Shakespeare plays of `data/` (scripts/setup.sh fetches them), split as
nanoGPT's shakespeare_char/prepare.py splits its text: the first 90% for training, the last 10% for
validation, one token per character (the corpus is ASCII, so a character is a byte and nats/char =
nats/byte for both).

- nanoGPT runs its README's CPU recipe verbatim (`config/train_shakespeare_char.py --device=cpu
  --compile=False --eval_iters=20 --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4 --n_head=4
  --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0`) on train.bin/val.bin written from
  that split. Its time to the target is the wall time (from process start) at which it prints the first
  `val loss` that reaches the target (rounds to it or below at two decimals: its recipe ends at 1.8717); its validation loss is its own estimate (20 random batches of 12 × 64 characters of
  the validation text), and its evaluation time counts, as in its log.
- river trains on the same training text (`river train`, the model and schedule of RIVER_CONFIG below,
  checkpoints at fixed steps). Its time to the target is the wall time (from process start) at which the
  first checkpoint whose `river eval` loss on the *whole* validation text reaches the target was written;
  the evaluations run after training and are not counted (river's own periodic evaluation is off).

Both sides use --threads threads (OMP_NUM_THREADS / torch for nanoGPT; OpenBLAS and river's workers for
river). Prints both times, the ratio (goal: river ≥ 1.3× faster) and both losses at every checkpoint.
"""
import argparse
import json
import os
import pathlib
import pickle
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]

# The river side: nanoGPT's size class (0.86M parameters vs its 0.8M) with twice its context (128) and
# batch 16, a WSD schedule at peak 6e-3 whose 25% decay ends at step 450 (the loss a WSD run reveals).
# Chosen by two trial runs on 2026-12-03: 300 steps reached 1.957 on the validation text, 450 steps 1.851.
RIVER_CONFIG = {
    "model": {"vocabSize": 256, "contextLength": 128, "width": 128, "layers": 4, "heads": 4},
    "batchSize": 16,
    "schedule": {"kind": "wsd", "steps": 450, "peak": 0.006, "warmup": 40, "decay": 0.25, "shape": "inv",
                 "minRatio": 0.05},
    "evalEvery": 0,
    "checkpointEvery": 0,
}
RIVER_CHECKPOINTS = 50  # a checkpoint every this many steps (and at the end)

NANOGPT_RECIPE = ["--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=1", "--block_size=64",
                  "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128", "--max_iters=2000",
                  "--lr_decay_iters=2000", "--dropout=0.0"]


def split(text):
    n = len(text)
    return text[: int(n * 0.9)], text[int(n * 0.9):]


def run_nanogpt(peer, work, train, val, threads, target):
    """nanoGPT's recipe in `work`; returns [(seconds, step, val_loss)] and the time to the target."""
    chars = sorted(set(train + val))
    stoi = {c: i for i, c in enumerate(chars)}
    d = work / "data" / "shakespeare_char"
    d.mkdir(parents=True)
    np.array([stoi[c] for c in train], dtype=np.uint16).tofile(d / "train.bin")
    np.array([stoi[c] for c in val], dtype=np.uint16).tofile(d / "val.bin")
    with open(d / "meta.pkl", "wb") as f:
        pickle.dump({"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": stoi}, f)
    (work / "configurator.py").symlink_to(peer / "configurator.py")  # train.py reads it from its working folder
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, str(peer / "train.py"), str(peer / "config" / "train_shakespeare_char.py")] + NANOGPT_RECIPE
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    evals, tail = [], []
    pattern = re.compile(r"step (\d+): train loss ([0-9.]+), val loss ([0-9.]+)")
    for line in p.stdout:
        tail = (tail + [line])[-20:]
        m = pattern.search(line)
        if m:
            evals.append((time.perf_counter() - t0, int(m.group(1)), float(m.group(3))))
    if p.wait() != 0:
        sys.exit("nanoGPT failed:\n" + "".join(tail))
    total = time.perf_counter() - t0
    hit = next((e for e in evals if reached(e[2], target)), None)
    return evals, hit, total


def run_river(river, work, train, val, threads, target, config):
    (work / "train.txt").write_text(train)
    (work / "val.txt").write_text(val)
    cfg = json.loads(json.dumps(config))
    cfg["data"] = {"corpus": str(work / "train.txt")}
    steps = cfg["schedule"]["steps"]
    cfg["checkpointAt"] = list(range(RIVER_CHECKPOINTS, steps + 1, RIVER_CHECKPOINTS))
    (work / "river.json").write_text(json.dumps(cfg))
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), RIVER_THREADS=str(threads))
    out = work / "river-run"
    t0 = time.time()
    subprocess.run([river, "train", "--out", str(out), "--config", str(work / "river.json"), "--quiet"], check=True,
                   env=env, capture_output=True, text=True)
    total = time.time() - t0
    # Evaluating the whole validation text takes seconds per checkpoint: walk back from the last checkpoint
    # and stop at the first one that misses the target (the earliest hit is the one after it).
    points = []
    for ck in sorted((out / "checkpoints").glob("step-*.safetensors"), reverse=True):
        written = ck.stat().st_mtime - t0
        r = subprocess.run([river, "eval", "--checkpoint", str(ck), "--text", str(work / "val.txt")], check=True,
                           env=env, capture_output=True, text=True)
        loss = json.loads(r.stdout)["loss"]
        points.insert(0, (written, int(ck.stem.split("-")[1]), loss))
        if not reached(loss, target):
            break
    hit = next((e for e in points if reached(e[2], target)), None)
    return points, hit, total


def reached(loss, target):
    """A loss reaches the target when it rounds to it or below at two decimals, as logs print it (nanoGPT's
    recipe ends at 1.8717, the "1.87" of its README)."""
    return round(loss, 2) <= target


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", required=True, type=pathlib.Path, help="a nanoGPT checkout (train.py, model.py, config/)")
    ap.add_argument("--target", type=float, default=1.87, help="validation loss, nats/char")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds (nanoGPT, river, nanoGPT, ...)")
    ap.add_argument("--river-config", type=pathlib.Path, help="a run config JSON instead of the built-in one")
    ap.add_argument("--corpus", type=pathlib.Path, default=REPO / "data" / "shakespeare.txt")
    a = ap.parse_args()
    if not (a.peer / "train.py").is_file():
        ap.error(f"--peer {a.peer}: no train.py there; give a checkout of https://github.com/karpathy/nanoGPT")
    if not a.corpus.is_file():
        ap.error(f"--corpus {a.corpus} does not exist; run scripts/setup.sh (it fetches data/shakespeare.txt)")
    text = a.corpus.read_text(encoding="ascii")
    train, val = split(text)
    config = json.loads(a.river_config.read_text()) if a.river_config else RIVER_CONFIG
    river = os.environ.get("RIVER_BIN", str(REPO / ".build" / "release" / "river"))
    print(f"corpus {a.corpus.name}: {len(train)} training / {len(val)} validation characters; target {a.target} nats/char; "
          f"{a.threads} threads; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"river config: {json.dumps(config)}")
    nano_t, river_t = [], []
    for rnd in range(a.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = pathlib.Path(tmp)
            (tmp / "nano").mkdir()
            (tmp / "river").mkdir()
            evals, hit, total = run_nanogpt(a.peer.resolve(), tmp / "nano", train, val, a.threads, a.target)
            print(f"round {rnd + 1} nanoGPT: {total:.1f} s for 2000 iterations; val loss by step: "
                  + ", ".join(f"{s}: {v:.4f} ({t:.0f} s)" for t, s, v in evals))
            points, rhit, rtotal = run_river(river, tmp / "river", train, val, a.threads, a.target, config)
            print(f"round {rnd + 1} river:   {rtotal:.1f} s for {config['schedule']['steps']} steps; val loss by step: "
                  + ", ".join(f"{s}: {v:.4f} ({t:.0f} s)" for t, s, v in points))
        if hit is None or rhit is None:
            print(f"round {rnd + 1}: target {a.target} not reached by "
                  + " and ".join(n for n, h in [("nanoGPT", hit), ("river", rhit)] if h is None))
            continue
        nano_t.append(hit[0])
        river_t.append(rhit[0])
        print(f"round {rnd + 1}: time to val ≤ {a.target}: nanoGPT {hit[0]:.1f} s (step {hit[1]}, {hit[2]:.4f}), "
              f"river {rhit[0]:.1f} s (step {rhit[1]}, {rhit[2]:.4f}): river {hit[0] / rhit[0]:.2f}x faster")
    if nano_t:
        ratios = [n / r for n, r in zip(nano_t, river_t)]
        print(f"time to val ≤ {a.target}, median of {len(ratios)} round(s): nanoGPT {statistics.median(nano_t):.1f} s, "
              f"river {statistics.median(river_t):.1f} s; ratio {statistics.median(ratios):.2f}x "
              f"(range {min(ratios):.2f}-{max(ratios):.2f}; goal >= 1.3x)")


if __name__ == "__main__":
    main()
