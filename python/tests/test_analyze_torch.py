"""`river analyze` curvature against PyTorch float64 double-backprop (python/reference/llama.py).

A tiny model is trained for a few steps with `river train`; `river analyze hvp` then writes the Float64
loss, gradient and one Hessian-vector product H v (central differences of Float64 gradients) on the
first bytes of a text. PyTorch loads the checkpoint's tensors unchanged into the reference model in
float64 (RoPE tables in float64 too: the Swift Float64 model computes them in Double), evaluates the
same loss (windows of T+1 tokens overlapping by one, mean over predicted tokens, as `river eval`),
and computes H v = d/dw (∇L(w)·v) with torch.autograd.grad twice.

Tolerances (relative, ‖swift − torch‖ / ‖torch‖): loss 1e-12, gradient 1e-10 (L2 and max-norm),
H v 1e-6 (L2 and max-norm) — the issue's requirement for every Hessian-vector product.
"""
import json
import pathlib
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "reference"))
from llama import Llama  # noqa: E402

torch.set_num_threads(2)

MODELS = {
    "untied": dict(vocabSize=256, contextLength=16, width=16, layers=2, heads=2, mlpHidden=40),
    "tied": dict(vocabSize=256, contextLength=16, width=12, layers=1, heads=2, mlpHidden=24, tiedEmbeddings=True,
                 ropeTheta=500.0),
}
MAX_BYTES = 300  # 299 predicted tokens: 18 full windows of T = 16 and a tail window of 11


def train_tiny(river, tmp, model_cfg):
    rng = np.random.default_rng(3)
    words = "the river valley hill loss rate decay stable warm king queen thou art more lovely".split()
    corpus = tmp / "corpus.txt"
    corpus.write_text(" ".join(rng.choice(words, 12000)))
    run_cfg = {"model": model_cfg, "data": {"corpus": str(corpus), "splitBlock": 512}, "batchSize": 4,
               "schedule": {"kind": "constant", "steps": 20, "peak": 0.01}, "evalEvery": 0, "evalWindows": 2}
    (tmp / "run.json").write_text(json.dumps(run_cfg))
    run = tmp / "run"
    river("train", "--out", run, "--config", tmp / "run.json", "--quiet", check=True)
    return corpus, run / "checkpoints" / "step-000020.safetensors", json.loads((run / "config.json").read_text())["model"]


def torch_loss(model, tokens, T):
    """river eval's loss: windows of T+1 tokens overlapping by one, mean over every predicted token."""
    total, predicted = 0.0, len(tokens) - 1
    for start in range(0, predicted, T):
        length = min(T, predicted - start)
        x = torch.tensor(tokens[start:start + length]).unsqueeze(0)
        y = torch.tensor(tokens[start + 1:start + length + 1]).unsqueeze(0)
        logits, _ = model(x)
        total = total + F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum")
    return total / predicted


def rel(a, b, order=None):
    a, b = a.flatten().double(), b.flatten().double()
    if order == "max":
        return float((a - b).abs().max() / b.abs().max())
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_hvp_matches_torch_double_backprop(river, tmp_path, name):
    corpus, ckpt, cfg = train_tiny(river, tmp_path, MODELS[name])
    out = tmp_path / "hv.safetensors"
    river("analyze", "hvp", "--checkpoint", ckpt, "--text", corpus, "--max-bytes", MAX_BYTES, "--seed", 7,
          "--out", out, check=True)
    swift = load_file(str(out))

    model = Llama(cfg).double()
    state = load_file(str(ckpt))
    model.load_state_dict({k: v.double() for k, v in state.items() if k in model.state_dict()}, strict=True)
    # RoPE tables in float64 (the reference rounds them to float32 for the Float32 trainer).
    D, T = cfg["width"] // cfg["heads"], cfg["contextLength"]
    i, t = torch.arange(D // 2, dtype=torch.float64), torch.arange(T, dtype=torch.float64)
    angle = torch.outer(t, cfg.get("ropeTheta", 10000.0) ** (-2.0 * i / D))
    model.rope_cos, model.rope_sin = torch.cos(angle), torch.sin(angle)

    tokens = list(corpus.read_bytes()[:MAX_BYTES])
    names = [n for n, _ in model.named_parameters()]
    params = [p for _, p in model.named_parameters()]
    loss = torch_loss(model, tokens, T)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    v = [swift["v." + n] for n in names]
    hv = torch.autograd.grad(sum((g * w).sum() for g, w in zip(grads, v)), params)

    assert abs(float(swift["loss"][0]) - loss.item()) <= 1e-12 * loss.item()
    g_torch = torch.cat([g.detach().flatten() for g in grads])
    g_swift = torch.cat([swift["grad." + n].flatten() for n in names])
    assert rel(g_swift, g_torch) < 1e-10 and rel(g_swift, g_torch, "max") < 1e-10
    hv_torch = torch.cat([h.flatten() for h in hv])
    hv_swift = torch.cat([swift["hv." + n].flatten() for n in names])
    err, err_max = rel(hv_swift, hv_torch), rel(hv_swift, hv_torch, "max")
    print(f"{name}: H v relative error {err:.2e} (L2), {err_max:.2e} (max-norm)")
    assert err < 1e-6 and err_max < 1e-6, f"H v off by {err:.2e} (L2) / {err_max:.2e} (max) relative"
