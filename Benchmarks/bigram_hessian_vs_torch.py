"""Exact Hessian + full spectrum of the factorised bigram model: Swift (`river bigram evaluate`,
analytic dense Hessian + LAPACK dsyevd) vs PyTorch (torch.autograd.functional.hessian +
torch.linalg.eigvalsh), CPU, same thread count, same files, one run. Prints both timings and the ratio.

    OPENBLAS_CORETYPE=SkylakeX .venv/bin/python Benchmarks/bigram_hessian_vs_torch.py [--vocab 64 --width 16 --repeats 3]

The Swift timing is the whole `river` process (start-up, CSV and safetensors parsing, loss, gradient,
Hessian, eigenvalues, trace); the PyTorch timing covers only the Hessian and eigvalsh. Both results are
checked against each other (top-5 eigenvalues to 1e-9 relative).
"""
import argparse
import json
import os
import pathlib
import subprocess
import tempfile
import time

import numpy as np
import torch
from safetensors.numpy import save_file

REPO = pathlib.Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=64)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--vectorize", action="store_true", help="torch hessian(vectorize=True) (vmap over rows)")
    a = ap.parse_args()
    river = os.environ.get("RIVER_BIN", str(REPO / ".build" / "release" / "river"))
    torch.set_num_threads(a.threads)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads))
    rng = np.random.default_rng(0)
    v, d = a.vocab, a.width
    p = rng.dirichlet(np.full(v, 0.3), size=v)
    f = rng.random(v) + 0.1
    tensors = {"E": rng.normal(scale=0.5, size=(v, d)), "U": rng.normal(scale=0.5, size=(d, v)), "b": rng.normal(size=v)}
    n = 2 * v * d + v
    with tempfile.TemporaryDirectory() as tmp:
        t, fr, pp = (pathlib.Path(tmp) / x for x in ("T.csv", "F.csv", "P.safetensors"))
        np.savetxt(t, p, delimiter=",", fmt="%.17g")
        np.savetxt(fr, f, fmt="%.17g")
        save_file(tensors, str(pp))
        cmd = [river, "bigram", "evaluate", "--transitions", str(t), "--frequencies", str(fr),
               "--model", "factorized", "--parameters", str(pp)]

        P = torch.tensor(p / p.sum(1, keepdims=True))
        pi = torch.tensor(f / f.sum())
        theta0 = torch.tensor(np.concatenate([tensors[k].ravel() for k in ("E", "U", "b")]))

        def loss(theta):
            E = theta[: v * d].reshape(v, d)
            U = theta[v * d : 2 * v * d].reshape(d, v)
            z = E @ U + theta[2 * v * d :]
            return (pi * (torch.logsumexp(z, 1) - (P * z).sum(1))).sum()

        swift, ptorch = [], []
        for _ in range(a.repeats):  # interleaved, so machine drift hits both
            t0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
            swift.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            h = torch.autograd.functional.hessian(loss, theta0, vectorize=a.vectorize)
            eig = torch.linalg.eigvalsh(h)
            ptorch.append(time.perf_counter() - t0)
        got = json.loads(out)["hessian_top"]
        want = eig.flip(0)[:5].numpy()
        err = np.max(np.abs(np.array(got) - want)) / abs(want[0])
        s, q = min(swift), min(ptorch)
        print(f"factorised bigram V={v} d={d}: {n} parameters, threads={a.threads}, best of {a.repeats}")
        print(f"swift  river bigram evaluate (dense Hessian + dsyevd): {s:.3f} s")
        print(f"torch  hessian(vectorize={a.vectorize}) + eigvalsh:       {q:.3f} s")
        print(f"ratio torch/swift = {q / s:.1f}x   (top-5 eigenvalue agreement: rel err {err:.1e})")
        assert err <= 1e-9


if __name__ == "__main__":
    main()
