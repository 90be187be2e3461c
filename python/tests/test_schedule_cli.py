"""`river schedule` against an independent Python implementation of the published algorithms.

References: Levanter's multi-cycle WSD (stanford-crfm/levanter, levanter.optim.config, with optax's
join/linear/cosine schedule semantics) re-derived here from its description in the paper digest §1.3,
and the Hugging Face `get_wsd_schedule` decay formulas (transformers.optimization). Tolerance: 1e-12
relative (both sides evaluate the same closed forms in float64; only the order of operations differs).
"""
import io
import math

import numpy as np
import pytest


def convert(v, total):
    return int(v * total) if v <= 1 else int(v)


def levanter_reference(T, peak, r, warmup, decay, rewarmup, ends, shape):
    """Levanter's schedule as a list of per-step values (pieces joined like optax.join_schedules)."""
    points = [0] + list(ends)
    if points[-1] != T:
        points.append(T)
    pieces = []  # (start, fn of k)
    prev_end = 0.0
    for i, (a, b) in enumerate(zip(points[:-1], points[1:])):
        c = b - a
        w = min(convert(warmup if i == 0 else rewarmup, c), c)
        if w:
            pieces.append((a, lambda k, s=prev_end, w=w: s + (peak - s) * min(k, w) / w))
        d = min(max(convert(decay, c) if decay is not None else c - w, 0), c - w)
        st = c - w - d
        if st > 0:
            pieces.append((a + w, lambda k: peak))
        if d > 0:
            if shape == "cosine":
                f = lambda k, d=d: peak * ((1 - r) * 0.5 * (1 + math.cos(math.pi * min(k, d) / d)) + r)
            elif shape == "linear":
                f = lambda k, d=d: peak + (peak * r - peak) * min(k, d) / d
            elif shape == "inv":
                f = lambda k, d=d: max(peak * min(1.0, 1.0 / ((1 / r - 1) * max(k, 1) / d + 1)), peak * r)
            pieces.append((a + w + st, f))
            prev_end = f(d)
        else:
            prev_end = peak
    out = []
    for t in range(T):
        start, f = [p for p in pieces if p[0] <= t][-1]
        out.append(f(t - start))
    return np.array(out)


def hf_decay_factor(p, shape, r):
    f = {"linear": 1 - p, "cosine": 0.5 * (1 + math.cos(math.pi * 2 * 0.5 * p)), "1-sqrt": 1 - math.sqrt(p)}[shape]
    return f * (1 - r) + r


def lr_column(proc):
    assert proc.returncode == 0, proc.stderr
    data = np.loadtxt(io.StringIO(proc.stdout), delimiter=",", skiprows=1)
    assert proc.stdout.startswith("step,lr\n")
    return data[:, 0], data[:, 1]


@pytest.mark.parametrize("shape", ["cosine", "linear", "inv"])
@pytest.mark.parametrize("case", [
    dict(T=1000, warmup=0.0, decay=0.1, rewarmup=0.0, ends=[300, 700]),
    dict(T=1000, warmup=0.2, decay=None, rewarmup=0.05, ends=[500]),
    dict(T=777, warmup=13, decay=40, rewarmup=7, ends=[100, 350, 600]),
])
def test_levanter_yaml_matches_reference(river, tmp_path, shape, case):
    cfg = tmp_path / "opt.yaml"
    lines = ["optimizer:", "  learning_rate: 0.003", "  min_lr_ratio: 0.1", f"  warmup: {case['warmup']}",
             f"  rewarmup: {case['rewarmup']}", f"  lr_schedule: {shape}", f"  cycles: {case['ends']}"]
    if case["decay"] is not None:
        lines.append(f"  decay: {case['decay']}")
    cfg.write_text("\n".join(lines) + "\n")
    steps, lr = lr_column(river("schedule", "--levanter", cfg, "--steps", case["T"]))
    assert np.array_equal(steps, np.arange(case["T"]))
    ref = levanter_reference(case["T"], 0.003, 0.1, case["warmup"], case["decay"], case["rewarmup"], case["ends"], shape)
    np.testing.assert_allclose(lr, ref, rtol=1e-12, atol=0)


def test_levanter_pinned_wsds_values(river):
    _, lr = lr_column(river("schedule", "--kind", "wsds", "--steps", 1000, "--peak", 1e-3, "--cycles", "300,700",
                            "--decay", 0.1, "--shape", "cosine", "--min-ratio", 0.1, "--decay-of", "cycle"))
    peak = 1e-3
    assert lr[0] == lr[269] == peak and lr[271] < peak
    assert lr[300] == lr[659] == peak and lr[661] < peak
    assert lr[701] == lr[969] == peak and lr[971] < peak


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
def test_wsd_decay_matches_huggingface_formula(river, shape):
    T, D, r, peak = 500, 120, 0.05, 0.02
    _, lr = lr_column(river("schedule", "--kind", "wsd", "--steps", T, "--peak", peak, "--decay", D,
                            "--shape", shape, "--min-ratio", r))
    ref = np.array([peak if t < T - D else peak * hf_decay_factor((t - (T - D)) / D, shape, r) for t in range(T)])
    np.testing.assert_allclose(lr, ref, rtol=1e-12, atol=0)


@pytest.mark.parametrize("args, needle", [
    (["--kind", "wsd", "--steps", 100, "--peak", -1], "-1"),
    (["--kind", "wsd", "--steps", 100, "--peak", 1, "--decay", 1.5], "1.5"),
    (["--kind", "wsds", "--steps", 100, "--peak", 1, "--cycles", "60,40"], "40"),
    (["--kind", "wsd", "--steps", 100, "--peak", 1, "--warmup", 60, "--decay", 50], "exceed"),
    (["--kind", "zigzag", "--steps", 100, "--peak", 1], "zigzag"),
    (["--kind", "wsd", "--steps", 100, "--peak", "nan"], "nan"),
])
def test_bad_input_is_a_clear_error(river, args, needle):
    p = river("schedule", *args)
    assert p.returncode != 0
    assert p.stdout == ""
    assert needle in p.stderr
