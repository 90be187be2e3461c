#!/usr/bin/env python3
"""Benchmark: the bf16 path against fp32 at full scale — the default model (1.9M parameters, context 256,
batch 16) trained for 1000 steps on the Shakespeare plays, once with `"precision": "fp32"` and once with
`"precision": "bf16"`, same seed, same batches, same schedule (the default: cosine, peak 1e-3, 5% warm-up).

Reports, for each precision, the validation loss every 100 steps and at the end, the mean training loss over
the last 50 steps, the tokens/s of the run and the kernels the bf16 GEMMs ran on (RUN/kernels.json). Goal: the
bf16 curve within 0.02 nats of the fp32 curve after 1000 steps (validation loss at the last step, and the
mean training loss of the last 50 steps). The loss goal holds on any CPU; the speed of the bf16 run says what
this CPU's bf16 kernels are worth (on a CPU without AMX or AVX512-BF16 the fallback can only be slower).

The runs live in --out (default out/bench-bf16): a killed benchmark resumes its runs (`river train --resume`)
and a finished run is reused, so a rerun only reprints the comparison.

    Benchmarks/run.sh bf16_vs_fp32 [--steps 1000 --out out/bench-bf16]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys


def run(river, out, precision, steps, corpus):
    d = out / precision
    metrics = d / "metrics.jsonl"
    done = metrics.exists() and any(json.loads(x)["step"] == steps for x in metrics.read_text().splitlines())
    if not done:
        if (d / "config.json").exists():
            cmd = [river, "train", "--out", str(d), "--resume"]
        else:
            cfg = out / f"{precision}.json"
            cfg.write_text(json.dumps({"data": {"corpus": corpus}, "precision": precision, "evalEvery": 100,
                                       "checkpointEvery": 100}))
            cmd = [river, "train", "--out", str(d), "--config", str(cfg), "--steps", str(steps), "--seed", "0"]
        print(f"$ {' '.join(cmd)}", flush=True)
        subprocess.run(cmd, check=True)
    rows = [json.loads(x) for x in metrics.read_text().splitlines()]
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--out", default="out/bench-bf16")
    ap.add_argument("--corpus", default="shakespeare")
    a = ap.parse_args()
    river = os.environ.get("RIVER_BIN", ".build/release/river")
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {p: run(river, out, p, a.steps, a.corpus) for p in ("fp32", "bf16")}
    val = {p: {r["step"]: r["val_loss"] for r in rows if r.get("val_loss") is not None} for p, rows in runs.items()}
    print(f"\ndefault model, {a.steps} steps, corpus {a.corpus}")
    print("step   val fp32   val bf16   bf16 - fp32")
    worst = 0.0
    for s in sorted(set(val["fp32"]) & set(val["bf16"])):
        d = val["bf16"][s] - val["fp32"][s]
        worst = max(worst, abs(d))
        print(f"{s:5d}   {val['fp32'][s]:.4f}     {val['bf16'][s]:.4f}     {d:+.4f}")
    tail = {p: sum(r["loss"] for r in rows[-50:]) / 50 for p, rows in runs.items()}
    final = {p: val[p][a.steps] for p in runs}
    for p, rows in runs.items():
        # Steps 2..N (the first step carries start-up); the wall column is training seconds, summed over resumes.
        tokens = (rows[-1]["tokens"] - rows[0]["tokens"])
        secs = rows[-1]["wall"] - rows[0]["wall"]
        print(f"{p}: final val {final[p]:.4f}, mean train loss (last 50 steps) {tail[p]:.4f}, "
              f"{tokens / secs:,.0f} tokens/s over {secs:.0f} s (evaluations and checkpoints included)")
    kernels = json.loads((out / "bf16" / "kernels.json").read_text())
    kinds = {}
    for k in kernels["kernels"]:
        kinds.setdefault((k["kernel"], k.get("fallbackReason")), 0)
        kinds[(k["kernel"], k.get("fallbackReason"))] += 1
    print(f"bf16 kernels (oneDNN {kernels['onednnVersion']}, ISA {kernels['onednnISA']}): " +
          "; ".join(f"{n} shapes on {kern}" + (f" ({why})" if why else "") for (kern, why), n in kinds.items()))
    dv, dt = final["bf16"] - final["fp32"], tail["bf16"] - tail["fp32"]
    ok = abs(dv) <= 0.02 and abs(dt) <= 0.02
    print(f"difference after {a.steps} steps: validation {dv:+.4f}, training (last 50) {dt:+.4f}, largest over "
          f"evaluations {worst:.4f} (goal |difference| <= 0.02 nats: {'met' if ok else 'NOT met'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
