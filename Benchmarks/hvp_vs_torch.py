"""Hessian-vector product of a trained checkpoint in float64: Swift (`river analyze hvp`: central
difference of two Float64 gradients) vs PyTorch (the reference model python/reference/llama.py in
float64, torch.autograd.grad twice), same checkpoint, same 4 x 256 tokens, same thread count, one run.
Then `river analyze hessian` Lanczos top-5 with 30 iterations on the same checkpoint (goal ≤ 2 minutes).

    Benchmarks/run.sh hvp_vs_torch [--model default --repeats 3 --threads 2]

The checkpoint comes from a 1-step `river train` of the model on a synthetic corpus. Swift times the
products inside the process (after one warm-up product); PyTorch times grad-of-grad after one warm-up.
Both results are checked against each other (relative L2 error printed; the test suite requires 1e-6).
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

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python" / "reference"))
from llama import Llama  # noqa: E402
from _shared import word_corpus  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="default")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lanczos", action=argparse.BooleanOptionalAction, default=True)
    a = ap.parse_args()
    river = os.environ.get("RIVER_BIN", str(REPO / ".build" / "release" / "river"))
    torch.set_num_threads(a.threads)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        corpus = word_corpus(tmp / "corpus.txt", 200000)
        cfg = {"model": a.model, "data": {"corpus": str(corpus)}, "batchSize": 4,
               "schedule": {"kind": "constant", "steps": 1, "peak": 0.001}, "evalEvery": 0, "evalWindows": 1}
        (tmp / "run.json").write_text(json.dumps(cfg))
        subprocess.run([river, "train", "--out", tmp / "run", "--config", tmp / "run.json", "--quiet"], check=True,
                       env=env, capture_output=True)
        ckpt = tmp / "run" / "checkpoints" / "step-000001.safetensors"
        model_cfg = json.loads((tmp / "run" / "config.json").read_text())["model"]
        T = model_cfg["contextLength"]
        max_bytes = a.batch * T + 1
        out = tmp / "hv.safetensors"
        r = subprocess.run([river, "analyze", "hvp", "--checkpoint", ckpt, "--text", corpus, "--max-bytes", str(max_bytes),
                            "--batch-size", str(a.batch), "--seed", "1", "--out", out, "--repeat", str(a.repeats)],
                           check=True, env=env, capture_output=True, text=True)
        swift = json.loads(r.stdout)
        swift_s = statistics.median(swift["hvp_seconds"])
        hv_swift = load_file(str(out))

        model = Llama(model_cfg).double()
        state = load_file(str(ckpt))
        model.load_state_dict({k: v.double() for k, v in state.items() if k in model.state_dict()}, strict=True)
        D = model_cfg["width"] // model_cfg["heads"]
        i, t = torch.arange(D // 2, dtype=torch.float64), torch.arange(T, dtype=torch.float64)
        angle = torch.outer(t, model_cfg.get("ropeTheta", 10000.0) ** (-2.0 * i / D))
        model.rope_cos, model.rope_sin = torch.cos(angle), torch.sin(angle)
        data = torch.tensor(list(corpus.read_bytes()[:max_bytes]))
        x = torch.stack([data[b * T:(b + 1) * T] for b in range(a.batch)])
        y = torch.stack([data[b * T + 1:(b + 1) * T + 1] for b in range(a.batch)])
        names = [n for n, _ in model.named_parameters()]
        params = [p for _, p in model.named_parameters()]
        v = [hv_swift["v." + n] for n in names]

        def hvp():
            logits, _ = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            g = torch.autograd.grad(loss, params, create_graph=True)
            return torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), params)

        hvp()
        times, hv = [], None
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            hv = hvp()
            times.append(time.perf_counter() - t0)
        torch_s = statistics.median(times)
        ht = torch.cat([h.flatten() for h in hv])
        hs = torch.cat([hv_swift["hv." + n].flatten() for n in names])
        err = float((hs - ht).norm() / ht.norm())
        print(f"HVP, {a.model} model ({swift['parameters']} parameters), {a.batch}x{T} tokens, {a.threads} threads, median of {a.repeats}:")
        print(f"  Swift (central difference of Float64 gradients): {swift_s:.3f} s   {['%.3f' % s for s in swift['hvp_seconds']]}")
        print(f"  PyTorch float64 double-backprop:                 {torch_s:.3f} s   {['%.3f' % s for s in times]}")
        print(f"  ratio: {torch_s / swift_s:.2f}x {'faster' if torch_s > swift_s else 'slower'} (goal >= 1.5x faster); relative L2 difference {err:.1e}")
        if a.lanczos:
            t0 = time.perf_counter()
            r = subprocess.run([river, "analyze", "hessian", "--checkpoint", ckpt, "--text", corpus, "--max-bytes",
                                str(max_bytes), "--batch-size", str(a.batch), "--top", "5", "--iterations", "30",
                                "--trace-probes", "0"], check=True, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            rep = json.loads(r.stdout)
            print(f"Lanczos top-5, 30 iterations ({rep['hvps']} HVPs): {wall:.1f} s wall (goal <= 120 s); "
                  f"eigenvalues {['%.4g' % e for e in rep['eigenvalues']]}")


if __name__ == "__main__":
    main()
