#!/usr/bin/env python3
"""Benchmark: training steps of the Swift transformer (`river debug-model bench`) against PyTorch
(python/reference/llama.py with fused SDPA attention), same architecture, Float32, same batch shape,
2 threads, interleaved in one run.

A step is forward + backward + gradient clipping + AdamW (weight decay on matrices) on random byte
tokens. Prints tokens/s for both, the ratio Swift/PyTorch, and model FLOP utilisation (6·matmul params
+ 12·L·C·T FLOPs per token, PaLM's count) against the sgemm peak measured by the Swift side
(OpenBLAS, n = 2048, 2 threads).

Shapes: 3.3M (width 256, 4 layers, ctx 256, batch 16; goal >= 1.2x) and 0.86M (width 128, 4 layers,
ctx 128, batch 32; goal >= 1.5x).

Usage: OPENBLAS_CORETYPE=SkylakeX python Benchmarks/train_vs_torch.py [--steps 10] [--rounds 2]
       [--shapes small3M,small086M]   (RIVER_BIN selects the binary; default .build/release/river)
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "python" / "reference"))
from llama import Llama, flops_per_token  # noqa: E402

SHAPES = {
    "small3M": dict(config=dict(vocabSize=256, contextLength=256, width=256, layers=4, heads=4), batch=16, goal=1.2),
    "small086M": dict(config=dict(vocabSize=256, contextLength=128, width=128, layers=4, heads=4), batch=32, goal=1.5),
}


def swift_run(river, preset, batch, steps, warmup, threads, peak):
    args = [river, "debug-model", "bench", "--preset", preset, "--batch-size", str(batch), "--steps", str(steps),
            "--untimed-steps", str(warmup), "--threads", str(threads)] + (["--sgemm-peak"] if peak else [])
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def torch_run(cfg, batch, steps, warmup, seed=0):
    torch.manual_seed(seed)
    model = Llama(cfg, fused_attention=True)
    T, V = model.config["contextLength"], model.config["vocabSize"]
    opt = torch.optim.AdamW(model.parameter_groups(0.1), lr=1e-3)
    data = torch.randint(0, V, (8, batch, T + 1))
    times = []
    for step in range(warmup + steps):
        x = data[step % 8]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        _, loss = model(x[:, :-1], x[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        t1 = time.perf_counter()
        if step >= warmup:
            times.append(t1 - t0)
    return dict(tokens_per_s=batch * T * steps / sum(times), step_s_median=statistics.median(times),
                parameters=sum(p.numel() for p in model.parameters()), final_loss=loss.item())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--untimed-steps", dest="warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shapes", default="small3M,small086M")
    a = ap.parse_args()
    river = os.environ.get("RIVER_BIN", ".build/release/river")
    torch.set_num_threads(a.threads)
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}  torch {torch.__version__}  "
          f"threads {a.threads}  steps {a.steps} (+{a.warmup} warm-up)  rounds {a.rounds}")
    peak = None
    failed = False
    for name in a.shapes.split(","):
        shape = SHAPES[name]
        cfg, batch = shape["config"], shape["batch"]
        sw, tr = [], []
        for _ in range(a.rounds):  # interleaved: the VMs drift by up to 30% over minutes
            s = swift_run(river, name, batch, a.steps, a.warmup, a.threads, peak is None)
            peak = s.get("sgemm_peak_gflops", peak)
            sw.append(s)
            tr.append(torch_run(cfg, batch, a.steps, a.warmup))
        s_tps = max(r["tokens_per_s"] for r in sw)
        t_tps = max(r["tokens_per_s"] for r in tr)
        flops = flops_per_token(cfg)
        assert sw[0]["parameters"] == tr[0]["parameters"], (sw[0]["parameters"], tr[0]["parameters"])
        ratio = s_tps / t_tps
        print(f"\n{name}: {sw[0]['parameters']:,} parameters, batch {batch} x ctx {cfg['contextLength']}, "
              f"{flops / 1e6:.2f} MFLOP/token")
        print(f"  swift   {s_tps:10,.0f} tokens/s  {s_tps * flops / 1e9:6.1f} GFLOP/s  MFU {s_tps * flops / 1e9 / peak:5.1%}"
              f"  (fwd {sw[-1]['forward_s'] * 1e3:.0f} ms, bwd {sw[-1]['backward_s'] * 1e3:.0f} ms, "
              f"opt {sw[-1]['optimizer_s'] * 1e3:.0f} ms per step)")
        print(f"  pytorch {t_tps:10,.0f} tokens/s  {t_tps * flops / 1e9:6.1f} GFLOP/s  MFU {t_tps * flops / 1e9 / peak:5.1%}")
        print(f"  ratio swift/pytorch {ratio:.2f}x  (goal >= {shape['goal']}x: {'met' if ratio >= shape['goal'] else 'NOT met'})")
        print(f"  per round swift {[round(r['tokens_per_s']) for r in sw]}  pytorch {[round(r['tokens_per_s']) for r in tr]}")
    print(f"\nsgemm peak (OpenBLAS {sw[0]['core']}, n=2048, {a.threads} threads): {peak:.0f} GFLOP/s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
