"""Golden test: the Swift transformer against the PyTorch reference (python/reference/llama.py).

`river debug-model grad` builds the model from a config JSON and a seed, writes its parameters under the
model's own tensor names (the safetensors layout), runs a fixed batch and dumps logits, per-token
losses, every parameter gradient and the parameters after K AdamW steps. PyTorch loads the parameter
file unchanged (`load_state_dict(strict=True)`) and recomputes everything in float32.

Tolerances (max-norm relative error per tensor, ‖swift − torch‖∞ / ‖torch‖∞):
  logits, per-token losses, loss: 1e-5;  every gradient: 1e-4;
  one AdamW step on the same gradients: |Δp| ≤ 1e-4·lr per entry; K-step trajectories: see the tests.
The sequence length (80) spans two of the Swift attention kernel's 64-row query blocks.
"""
import json
import pathlib
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "reference"))
from llama import Llama  # noqa: E402

torch.set_num_threads(2)

CONFIGS = {
    "untied": dict(vocabSize=256, contextLength=80, width=32, layers=2, heads=4, mlpHidden=88,
                   tiedEmbeddings=False, ropeTheta=10000.0, normEpsilon=1e-5),
    "tied": dict(vocabSize=97, contextLength=80, width=24, layers=3, heads=2, mlpHidden=64,
                 tiedEmbeddings=True, ropeTheta=500.0, normEpsilon=1e-6),
}
B, T = 3, 80
ADAM = dict(lr=3e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1)


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def run_swift(river, tmp, cfg, steps, clip, seed=5):
    cfg_path, batch_path = tmp / "config.json", tmp / "batch.json"
    cfg_path.write_text(json.dumps(cfg))
    rng = np.random.default_rng(seed)
    data = rng.integers(0, cfg["vocabSize"], size=(B, T + 1), dtype=np.int64)
    batch_path.write_text(json.dumps({"tokens": data[:, :-1].tolist(), "targets": data[:, 1:].tolist()}))
    out, params = tmp / "out.safetensors", tmp / "params.safetensors"
    river("debug-model", "grad", "--model-config", cfg_path, "--seed", seed, "--batch-file", batch_path, "--out", out,
          "--save-parameters", params, "--steps", steps, "--clip", clip, "--lr", ADAM["lr"],
          "--beta1", ADAM["beta1"], "--beta2", ADAM["beta2"], "--epsilon", ADAM["eps"],
          "--weight-decay", ADAM["weight_decay"], check=True)
    return data, load_file(str(out)), params


def torch_model(cfg, params_path):
    model = Llama(cfg)
    state = load_file(str(params_path))  # the file as written, no renaming
    model.load_state_dict(state, strict=True)
    return model


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_logits_loss_and_every_gradient(river, tmp_path, name):
    cfg = CONFIGS[name]
    data, swift, params = run_swift(river, tmp_path, cfg, steps=1, clip=0)
    model = torch_model(cfg, params)
    tokens, targets = torch.from_numpy(data[:, :-1]), torch.from_numpy(data[:, 1:])
    logits, loss = model(tokens, targets)
    loss.backward()

    assert rel_err(swift["logits"], logits.detach()) < 1e-5
    per_token = torch.nn.functional.cross_entropy(logits.detach().reshape(-1, cfg["vocabSize"]), targets.reshape(-1),
                                                  reduction="none").reshape(B, T)
    assert rel_err(swift["losses"], per_token) < 1e-5
    assert abs(float(swift["loss"][0]) - loss.item()) < 1e-5 * loss.item()

    names = [n for n, _ in model.named_parameters()]
    assert sorted("grad." + n for n in names) == sorted(k for k in swift if k.startswith("grad."))
    errors = {n: rel_err(swift["grad." + n], p.grad) for n, p in model.named_parameters()}
    bad = {n: e for n, e in errors.items() if not e < 1e-4}
    assert not bad, f"gradients off by more than 1e-4 (relative, max-norm): {bad}"


def torch_adamw(model):
    return torch.optim.AdamW(model.parameter_groups(ADAM["weight_decay"]), lr=ADAM["lr"],
                             betas=(ADAM["beta1"], ADAM["beta2"]), eps=ADAM["eps"])


def test_one_adamw_step_matches_torch(river, tmp_path):
    """One step of Swift's AdamW vs torch.optim.AdamW on the same (Swift) gradients: |Δp| ≤ 1e-4·lr per entry.

    Using Swift's gradients isolates the optimizer: where |g| is near eps, g/(|g|+eps) amplifies
    the ~1e-5 gradient differences into ~lr-sized update differences (checked by the next test)."""
    cfg = CONFIGS["untied"]
    _, swift, params = run_swift(river, tmp_path, cfg, steps=1, clip=0)
    model = torch_model(cfg, params)
    opt = torch_adamw(model)
    for n, p in model.named_parameters():
        p.grad = swift["grad." + n].clone()
    opt.step()
    for n, p in model.named_parameters():
        err = float((swift["final." + n].double() - p.detach().double()).abs().max())
        assert err <= 1e-4 * ADAM["lr"], f"{n}: one AdamW step off by {err}"


@pytest.mark.parametrize("steps,clip", [(1, 0.0), (3, 0.05)])
def test_adamw_trajectory_matches_torch(river, tmp_path, steps, clip):
    """K steps of forward/backward/clip/AdamW in Swift and in torch from the same parameters.
    Losses and pre-clip gradient norms agree to 1e-5 / 1e-4 relative; per tensor the parameter
    displacement agrees to 1e-3 in L2-relative terms."""
    cfg = CONFIGS["untied"]
    data, swift, params = run_swift(river, tmp_path, cfg, steps=steps, clip=clip)
    model = torch_model(cfg, params)
    tokens, targets = torch.from_numpy(data[:, :-1]), torch.from_numpy(data[:, 1:])
    opt = torch_adamw(model)
    losses, norms = [], []
    for _ in range(steps):
        opt.zero_grad()
        _, loss = model(tokens, targets)
        loss.backward()
        losses.append(loss.item())
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip if clip > 0 else float("inf"))))
        opt.step()
    np.testing.assert_allclose(swift["loss"], losses, rtol=1e-5)
    np.testing.assert_allclose(swift["grad_norm"], norms, rtol=1e-4)
    start = load_file(str(params))
    for n, p in model.named_parameters():
        moved_swift = swift["final." + n].double() - start[n].double()
        moved_torch = p.detach().double() - start[n].double()
        err = float((moved_swift - moved_torch).norm() / moved_torch.norm().clamp_min(1e-30))
        assert err < 1e-3, f"{n}: displacement after {steps} AdamW steps off by {err} (L2-relative)"


def test_run_checkpoint_loads_unchanged_and_matches(river, tmp_path):
    """`river train` writes a safetensors checkpoint; torch rebuilds the model from the run's config.json
    alone, loads the checkpoint's tensors under their own names, and matches Swift's logits (1e-5) and
    every gradient (1e-4) on a fixed batch starting from those trained parameters."""
    rng = np.random.default_rng(2)
    words = "the king and queen of a land far away said to all that love is more than gold".split()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(" ".join(rng.choice(words, 20000)))
    model_cfg = CONFIGS["untied"]
    run_cfg = {"model": model_cfg, "data": {"corpus": str(corpus)}, "batchSize": 3,
               "schedule": {"kind": "constant", "steps": 3, "peak": 0.003}, "evalEvery": 0, "evalWindows": 2}
    (tmp_path / "run.json").write_text(json.dumps(run_cfg))
    run = tmp_path / "run"
    river("train", "--out", run, "--config", tmp_path / "run.json", "--steps", 3, "--quiet", check=True)
    ckpt = sorted((run / "checkpoints").glob("*.safetensors"))[-1]
    cfg = json.loads((run / "config.json").read_text())["model"]
    model = Llama(cfg)
    state = load_file(str(ckpt))
    model.load_state_dict({k: v for k, v in state.items() if k in model.state_dict()}, strict=True)

    data = rng.integers(0, cfg["vocabSize"], size=(B, T + 1))
    (tmp_path / "batch.json").write_text(json.dumps({"tokens": data[:, :-1].tolist(), "targets": data[:, 1:].tolist()}))
    (tmp_path / "model.json").write_text(json.dumps(cfg))
    out = tmp_path / "out.safetensors"
    river("debug-model", "grad", "--model-config", tmp_path / "model.json", "--parameters", ckpt,
          "--batch-file", tmp_path / "batch.json", "--out", out, check=True)
    swift = load_file(str(out))
    logits, loss = model(torch.from_numpy(data[:, :-1]), torch.from_numpy(data[:, 1:]))
    loss.backward()
    assert rel_err(swift["logits"], logits.detach()) < 1e-5
    bad = {n: e for n, p in model.named_parameters() if not (e := rel_err(swift["grad." + n], p.grad)) < 1e-4}
    assert not bad, f"gradients from the checkpoint off by more than 1e-4: {bad}"
