#!/usr/bin/env python3
"""Benchmark: training throughput of the Swift transformer against PyTorch (python/reference/llama.py with
fused SDPA attention), same architecture, Float32, same batch shape, same thread count, interleaved rounds
in one run.

Two Swift sides (`--swift`):
- `train` (default): the real `river train` loop — batches sampled from a corpus, forward, backward,
  gradient clipping, AdamW, the schedule, metrics.jsonl — on a byte corpus of random words; tokens/s from
  the wall-clock column of metrics.jsonl after the warm-up steps. The PyTorch side is the same loop
  written plainly: random windows of the same corpus, forward, backward, clip_grad_norm_, AdamW (weight
  decay on matrices, as river), the same constant LR after the same steps.
- `bench`: `river debug-model bench` (the step without data sampling or logging), for the kernel view.

Each round runs Swift (each side asked for) then PyTorch; the ratio is taken per round and reported as the median with its range
over rounds. `--load both` (default) measures every shape on an idle host and again with a competing
single-thread process (a busy Python loop) running throughout. Prints the sgemm peak measured by the Swift
side in the same run (OpenBLAS, n = 2048) and the MFU (6·matmul params + 12·L·C·T FLOPs per token).

Shapes: 3.3M (width 256, 4 layers, ctx 256, batch 16; goal >= 1.2x) and 0.86M (width 128, 4 layers,
ctx 128, batch 32; goal >= 1.5x).

`--fp32-matmul` picks the library of river's fp32 linear-layer GEMMs (the run config's `fp32Matmul`):
`openblas` (river's default, the reference bits), `onednn` (oneDNN's Float32 matmul), or `both` (default):
each round then runs river on both (their order alternating from round to round) and PyTorch, and a ratio
is printed for each. The exit status is 1 when any river side misses its goal.

`--precision bf16` compares the bf16 paths instead: river with `"precision": "bf16"` against PyTorch with
`torch.autocast("cpu", dtype=torch.bfloat16)` around the forward pass and loss (goal >= 1.2x at every shape).
It prints which kernels river's bf16 GEMMs ran on (RUN/kernels.json: oneDNN's, or the sgemm fallback and
why) and the bf16 and fp32 matmul speed PyTorch gets on this CPU (n = 1024), which says whether the CPU has
a bf16 matmul unit at all.

    Benchmarks/run.sh train_vs_torch [--steps 12 --rounds 3 --load both --swift train --shapes small3M,small086M
                                      --precision fp32 --fp32-matmul both]
"""
import contextlib
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "python" / "reference"))
from llama import Llama, flops_per_token  # noqa: E402
from _shared import sgemm_peak, word_corpus  # noqa: E402

SHAPES = {
    "small3M": dict(config=dict(vocabSize=256, contextLength=256, width=256, layers=4, heads=4), batch=16, goal=1.2),
    "small086M": dict(config=dict(vocabSize=256, contextLength=128, width=128, layers=4, heads=4), batch=32, goal=1.5),
}
LR = 1e-3


def swift_bench(river, preset, batch, steps, warmup, threads, precision, fp32_matmul):
    args = [river, "debug-model", "bench", "--preset", preset, "--batch-size", str(batch), "--steps", str(steps),
            "--untimed-steps", str(warmup), "--threads", str(threads), "--precision", precision]
    if fp32_matmul:
        args += ["--fp32-matmul", fp32_matmul]
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)["tokens_per_s"]


KERNELS = {}  # (config, river side) -> river's oneDNN kernel summary (from the last run's kernels.json)


def swift_train(river, cfg, batch, steps, warmup, threads, corpus, work, precision, fp32_matmul):
    out = pathlib.Path(work) / f"run-{time.monotonic_ns()}"
    config = {"model": cfg, "data": {"corpus": str(corpus)}, "batchSize": batch,
              "schedule": {"kind": "constant", "steps": warmup + steps, "peak": LR, "warmup": 0},
              "evalEvery": 0, "checkpointEvery": 0, "precision": precision}
    if fp32_matmul:
        config["fp32Matmul"] = fp32_matmul
    cfg_path = pathlib.Path(work) / "config.json"
    cfg_path.write_text(json.dumps(config))
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), RIVER_THREADS=str(threads))
    subprocess.run([river, "train", "--out", str(out), "--config", str(cfg_path), "--quiet"], check=True, env=env,
                   capture_output=True)
    if precision == "bf16" or fp32_matmul == "onednn":
        report = json.loads((out / "kernels.json").read_text())
        kinds = {}
        for k in report["kernels"]:
            kinds.setdefault((k["kernel"], k.get("fallback_reason", k.get("fallbackReason"))), []).append(k["shape"])
        KERNELS[(json.dumps(cfg), side_name(precision, fp32_matmul))] = (f"oneDNN {report.get('onednn_version', report.get('onednnVersion'))} ISA "
                                    f"{report.get('onednn_isa', report.get('onednnISA'))}: " + "; ".join(
                                        f"{len(v)} shapes on {kern}" + (f" ({why})" if why else "")
                                        for (kern, why), v in kinds.items()))
    walls = [json.loads(line)["wall"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    # The last step also writes the final checkpoint and evaluates: time steps warmup+1 .. warmup+steps-1.
    timed = walls[warmup + steps - 2] - walls[warmup - 1]
    return batch * cfg["contextLength"] * (steps - 1) / timed


def torch_train(cfg, batch, steps, warmup, corpus, precision):
    torch.manual_seed(0)
    model = Llama(cfg, fused_attention=True)
    T = model.config["contextLength"]
    opt = torch.optim.AdamW(model.parameter_groups(0.1), lr=LR, betas=(0.9, 0.95), eps=1e-8)
    data = torch.tensor(np.frombuffer(pathlib.Path(corpus).read_bytes(), dtype=np.uint8).astype(np.int64))
    gen = torch.Generator().manual_seed(0)
    times = []
    for step in range(warmup + steps):
        t0 = time.perf_counter()
        starts = torch.randint(0, len(data) - T - 1, (batch,), generator=gen)
        x = torch.stack([data[s:s + T + 1] for s in starts.tolist()])
        opt.zero_grad(set_to_none=True)
        autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16"
                    else contextlib.nullcontext())
        with autocast:
            _, loss = model(x[:, :-1], x[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    timed = times[warmup:]
    return batch * T * len(timed) / sum(timed), sum(p.numel() for p in model.parameters())


def torch_matmul_gflops(dtype, n=1024, repeats=5):
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


class CompetingProcess:
    """A single-thread busy loop for the duration of a `with` block."""

    def __enter__(self):
        self.p = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.p.kill()
        self.p.wait()


def side_name(precision, fp32_matmul):
    """A river side: "bf16", or "fp32 LIBRARY" (fp32_matmul is None for bf16)."""
    return "bf16" if fp32_matmul is None else f"fp32 {fp32_matmul}"


def measure(a, river, name, corpus, work):
    """Tokens/s per round of each river side (by `side_name`) and of PyTorch, the sides interleaved."""
    shape = SHAPES[name]
    cfg, batch = shape["config"], shape["batch"]
    libraries = [None] if a.precision == "bf16" else (["openblas", "onednn"] if a.fp32_matmul == "both"
                                                      else [a.fp32_matmul])
    sw, tr, params = {}, [], None
    for r in range(a.rounds):  # interleaved: the VMs drift by up to 30% over minutes
        for lib in (libraries if r % 2 == 0 else libraries[::-1]):  # alternate, so neither side always runs first
            key = side_name(a.precision, lib)
            if a.swift == "train":
                tps = swift_train(river, cfg, batch, a.steps, a.warmup, a.threads, corpus, work, a.precision, lib)
            else:
                tps = swift_bench(river, name, batch, a.steps, a.warmup, a.threads, a.precision, lib)
            sw.setdefault(key, []).append(tps)
        tps, params = torch_train(cfg, batch, a.steps, a.warmup, corpus, a.precision)
        tr.append(tps)
    return sw, tr, params


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=12, help="timed steps per round")
    ap.add_argument("--untimed-steps", dest="warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shapes", default="small3M,small086M")
    ap.add_argument("--load", choices=["idle", "loaded", "both"], default="both",
                    help="idle host, a competing single-thread process, or both")
    ap.add_argument("--swift", choices=["train", "bench"], default="train", help="the river train loop or the bare step")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="fp32 on both sides, or river bf16 against PyTorch bf16 autocast (goal >= 1.2x)")
    ap.add_argument("--fp32-matmul", dest="fp32_matmul", choices=["openblas", "onednn", "both"], default="both",
                    help="library of river's fp32 linear-layer GEMMs; both: each round runs both (fp32 only)")
    a = ap.parse_args()
    river = os.environ.get("RIVER_BIN", ".build/release/river")
    torch.set_num_threads(a.threads)
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}  OPENBLAS_THREAD_TIMEOUT="
          f"{os.environ.get('OPENBLAS_THREAD_TIMEOUT')}  torch {torch.__version__}  threads {a.threads}  "
          f"steps {a.steps} (+{a.warmup} warm-up)  rounds {a.rounds}  swift side: {a.swift}  precision {a.precision}"
          + (f"  fp32 GEMMs: {a.fp32_matmul}" if a.precision == "fp32" else ""))
    peak = sgemm_peak(river, a.threads)
    print(f"sgemm peak (OpenBLAS, n=2048, {a.threads} threads), measured now: {peak:.0f} GFLOP/s")
    if a.precision == "bf16":
        f32, b16 = torch_matmul_gflops(torch.float32), torch_matmul_gflops(torch.bfloat16)
        print(f"PyTorch matmul n=1024: fp32 {f32:.0f} GFLOP/s, bf16 {b16:.0f} GFLOP/s ({b16 / f32:.2f}x fp32: "
              f"{'a bf16 matmul unit (AMX / AVX512-BF16)' if b16 > 1.3 * f32 else 'no bf16 matmul unit on this CPU'})")
    loads = ["idle", "loaded"] if a.load == "both" else [a.load]
    failed = False
    with tempfile.TemporaryDirectory() as work:
        corpus = word_corpus(pathlib.Path(work) / "corpus.txt", 400000)
        for name in a.shapes.split(","):
            shape = SHAPES[name]
            cfg, batch = shape["config"], shape["batch"]
            flops = flops_per_token(cfg)
            print(f"\n{name}: batch {batch} x ctx {cfg['contextLength']}, {flops / 1e6:.2f} MFLOP/token")
            for load in loads:
                if load == "loaded":
                    with CompetingProcess():
                        sw, tr, params = measure(a, river, name, corpus, work)
                else:
                    sw, tr, params = measure(a, river, name, corpus, work)
                goal = 1.2 if a.precision == "bf16" else shape["goal"]
                t_tps = statistics.median(tr)
                print(f"  [{load}] {params:,} parameters")
                print(f"    pytorch {t_tps:9,.0f} tokens/s (median)  MFU {t_tps * flops / 1e9 / peak:5.1%}  "
                      f"rounds {[round(x) for x in tr]}")
                for side, tps in sw.items():
                    ratios = [s / t for s, t in zip(tps, tr)]
                    r = statistics.median(ratios)
                    met = r >= goal
                    failed |= not met
                    s_tps = statistics.median(tps)
                    label = f"swift {side}" if len(sw) > 1 else "swift"
                    print(f"    {label:<19} {s_tps:9,.0f} tokens/s (median)  MFU {s_tps * flops / 1e9 / peak:5.1%}  "
                          f"rounds {[round(x) for x in tps]}")
                    print(f"      ratio {name} {load} {label}/pytorch {r:.2f}x median (range {min(ratios):.2f}-{max(ratios):.2f} over "
                          f"{len(ratios)} rounds; goal >= {goal}x: {'met' if met else 'NOT met'})")
                    if (json.dumps(cfg), side) in KERNELS:
                        print(f"      river {side} kernels: {KERNELS[(json.dumps(cfg), side)]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
