"""`river bigram evaluate` against an independent PyTorch computation from the same files.

Loss L = sum_i pi_i (logsumexp(z_i) - sum_j P_ij z_ij) with z = W (table) or E U + b (factorized);
gradient by autograd, Hessian by torch.autograd.functional.hessian, spectrum by torch.linalg.eigvalsh,
all in float64. Tolerances: loss and floor 1e-12 absolute, gradient norm 1e-10 relative, top-5
eigenvalues 1e-9 relative to the largest, trace 1e-10 relative.
"""
import json

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file



@pytest.fixture(autouse=True)
def _float64_default():
    """Float64 references in this module only; restored so other test modules keep torch's float32 default."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def language(rng, v):
    """A V x V row-stochastic matrix with deterministic, sparse and dense rows, and frequencies."""
    p = np.zeros((v, v))
    for i in range(v):
        kind = i % 3
        if kind == 0:
            p[i, rng.integers(v)] = 1.0
        elif kind == 1:
            p[i, rng.choice(v, size=3, replace=False)] = 1.0 / 3
        else:
            p[i] = rng.dirichlet(np.ones(v))
    f = rng.random(v) + 0.1
    return p, f


def write(tmp_path, p, f, tensors):
    t, fr, params = tmp_path / "T.csv", tmp_path / "F.csv", tmp_path / "P.safetensors"
    np.savetxt(t, p, delimiter=",", fmt="%.17g")
    if f is not None:
        np.savetxt(fr, f, fmt="%.17g")
    save_file({k: np.ascontiguousarray(x, dtype=np.float64) for k, x in tensors.items()}, str(params))
    return t, (fr if f is not None else None), params


def reference(p, f, tensors, model):
    p = torch.tensor(p / p.sum(axis=1, keepdims=True))
    v = p.shape[0]
    pi = torch.full((v,), 1.0 / v) if f is None else torch.tensor(f / f.sum())
    names = ["W"] if model == "table" else [k for k in ("E", "U", "b") if k in tensors]
    shapes = [tensors[k].shape for k in names]
    sizes = [int(np.prod(s)) for s in shapes]
    theta0 = torch.tensor(np.concatenate([tensors[k].ravel() for k in names]))

    def loss(theta):
        parts = dict(zip(names, [x.reshape(s) for x, s in zip(torch.split(theta, sizes), shapes)]))
        z = parts["W"] if model == "table" else parts["E"] @ parts["U"] + parts.get("b", 0.0)
        return (pi * (torch.logsumexp(z, dim=1) - (p * z).sum(dim=1))).sum()

    theta = theta0.clone().requires_grad_(True)
    value = loss(theta)
    (grad,) = torch.autograd.grad(value, theta)
    hess = torch.autograd.functional.hessian(loss, theta0)
    eig = torch.linalg.eigvalsh(hess)
    logp = torch.where(p > 0, torch.log(p), torch.zeros_like(p))
    floor = (pi * -(p * logp).sum(dim=1)).sum()
    return {
        "loss": value.item(),
        "entropy_floor": floor.item(),
        "gradient_norm": grad.norm().item(),
        "hessian_top": eig.flip(0)[:5].tolist(),
        "hessian_trace": torch.trace(hess).item(),
    }


def evaluate(river, t, f, params, model):
    args = ["bigram", "evaluate", "--transitions", t, "--model", model, "--parameters", params]
    if f is not None:
        args += ["--frequencies", f]
    proc = river(*args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def compare(got, want):
    assert set(got) == {"loss", "entropy_floor", "gradient_norm", "hessian_top", "hessian_trace"}
    assert abs(got["loss"] - want["loss"]) <= 1e-12 * max(1, abs(want["loss"]))
    assert abs(got["entropy_floor"] - want["entropy_floor"]) <= 1e-12
    assert abs(got["gradient_norm"] - want["gradient_norm"]) <= 1e-10 * want["gradient_norm"]
    top = np.array(want["hessian_top"])
    assert len(got["hessian_top"]) == 5
    assert np.all(np.diff(got["hessian_top"]) <= 0), "hessian_top must be descending"
    assert np.max(np.abs(np.array(got["hessian_top"]) - top)) <= 1e-9 * abs(top[0])
    assert abs(got["hessian_trace"] - want["hessian_trace"]) <= 1e-10 * abs(want["hessian_trace"])


@pytest.mark.parametrize("with_freq", [True, False])
def test_table_matches_torch(river, tmp_path, with_freq):
    rng = np.random.default_rng(1)
    p, f = language(rng, 9)
    tensors = {"W": rng.normal(scale=2.0, size=(9, 9))}
    t, fr, params = write(tmp_path, p, f if with_freq else None, tensors)
    compare(evaluate(river, t, fr, params, "table"), reference(p, f if with_freq else None, tensors, "table"))


@pytest.mark.parametrize("bias", [True, False])
def test_factorized_matches_torch(river, tmp_path, bias):
    rng = np.random.default_rng(2)
    v, d = 10, 3
    p, f = language(rng, v)
    tensors = {"E": rng.normal(size=(v, d)), "U": rng.normal(size=(d, v))}
    if bias:
        tensors["b"] = rng.normal(size=v)
    t, fr, params = write(tmp_path, p, f, tensors)
    compare(evaluate(river, t, fr, params, "factorized"), reference(p, f, tensors, "factorized"))


def test_bad_input(river, tmp_path):
    rng = np.random.default_rng(3)
    p, f = language(rng, 4)
    t, fr, params = write(tmp_path, p, f, {"W": np.zeros((4, 4))})
    # Wrong tensor for the model.
    proc = river("bigram", "evaluate", "--transitions", t, "--model", "factorized", "--parameters", params)
    assert proc.returncode != 0 and "E is missing" in proc.stderr and proc.stdout == ""
    # Rows that do not sum to 1.
    bad = tmp_path / "bad.csv"
    np.savetxt(bad, p * 0.5, delimiter=",")
    proc = river("bigram", "evaluate", "--transitions", bad, "--model", "table", "--parameters", params)
    assert proc.returncode != 0 and "sums to" in proc.stderr
    # Shape mismatch.
    _, _, small = write(tmp_path, p, f, {"W": np.zeros((3, 3))})
    proc = river("bigram", "evaluate", "--transitions", t, "--model", "table", "--parameters", small)
    assert proc.returncode != 0 and "expected [4, 4]" in proc.stderr
