"""`river curve` against direct numpy implementations of the three loss-curve laws.

References (written from the formulas, not from the Swift code):
- multi-power (Luo et al. arXiv 2503.12811 eq. (5), the authors' `src/evaluation.py` conventions):
  L(t) = L0 + A*S1(t)^-alpha - B*sum_{k=1..t} (eta_{k-1}-eta_k)*(1-(1+C*eta_k^-gamma*S_k(t))^-beta),
  S1(t) = cumsum(eta)[t], S_k(t) = sum_{tau=k..t} eta_tau, evaluated as the authors do (a full sum per point).
- momentum (Tissue et al. arXiv 2408.11029): L = L0 + A*S1^-alpha - C*S2, S2(t) = sum_{i=1..t} sum_{k=1..i}
  (eta_{k-1}-eta_k)*lambda^(i-k) (the double sum, not the recursion).
- river-valley (paper-notes/curves.md): L = L0 + A*S1^-alpha + sum_j B_j*H_j(t), with H_j in closed form
  H_j(t) = sum_{tau<=t} (1-exp(-kappa_j*eta_tau))*eta_tau*exp(-kappa_j*(P_t-P_tau)) (not the recursion).
Tolerance: 1e-10 relative on every predicted loss (both sides are float64; only the order of operations
and the exp/log implementations differ). Metrics: r2, mae, rmse, pred_e, worst_e as in the authors'
evaluation, 1e-12 relative. Bad input: each case exits non-zero with a message naming the problem.
"""
import json

import numpy as np
import pytest

RNG = np.random.default_rng(7)


def schedule(T, kind):
    """Per-step LRs: linear warmup, then a cosine, a WSD with linear decay, or a two-stage drop."""
    w, p = 50, 3e-3
    eta = np.empty(T)
    eta[:w] = p * np.arange(w) / w
    t = np.arange(w, T)
    if kind == "cosine":
        eta[w:] = 0.1 * p + 0.45 * p * (1 + np.cos(np.pi * (t - w) / (T - w)))
    elif kind == "wsd":
        d = T - 100
        eta[w:] = np.where(t < d, p, p + (0.1 * p - p) * (t - d) / (T - 1 - d))
    else:
        eta[w:] = np.where(t < T // 2, p, 0.3 * p)
    return eta


def mpl(par, eta, steps):
    L0, A, al, B, C, be, ga = par
    cs = np.cumsum(eta)
    gap = np.zeros(len(eta))
    gap[1:] = np.diff(eta)
    out = []
    for s in steps:
        k = np.arange(1, s + 1)
        keep = gap[k] != 0  # 0 * G is 0; skipping avoids 0 * inf at eta_k = 0
        k = k[keep]
        ld = np.sum(gap[k] * (1 - (1 + C * eta[k] ** (-ga) * (cs[s] - cs[k - 1])) ** (-be)))
        out.append(L0 + A * cs[s] ** (-al) + B * ld)
    return np.array(out)


def momentum(par, eta, steps):
    L0, A, al, C, lam = par
    cs = np.cumsum(eta)
    drop = np.zeros(len(eta))
    drop[1:] = eta[:-1] - eta[1:]
    out = []
    for s in steps:
        i = np.arange(1, s + 1)[:, None]
        k = np.arange(1, s + 1)[None, :]
        m = np.where(k <= i, drop[k] * lam ** np.maximum(i - k, 0), 0.0)
        out.append(L0 + A * cs[s] ** (-al) - C * m.sum())
    return np.array(out)


def river_valley(par, eta, steps):
    L0, A, al, B1, k1, B2, k2 = par
    P = np.cumsum(eta)
    out = []
    for s in steps:
        tau = np.arange(s + 1)
        h = [np.sum((1 - np.exp(-kap * eta[tau])) * eta[tau] * np.exp(-kap * (P[s] - P[tau]))) for kap in (k1, k2)]
        out.append(L0 + A * P[s] ** (-al) + B1 * h[0] + B2 * h[1])
    return np.array(out)


LAWS = {
    "multi-power": (mpl, ["L0", "A", "alpha", "B", "C", "beta", "gamma"], [2.4, 0.6, 0.45, 30.0, 2.0, 0.6, 0.6]),
    "momentum": (momentum, ["L0", "A", "alpha", "C", "lambda"], [2.4, 0.6, 0.45, 0.5, 0.99]),
    "river-valley": (river_valley, ["L0", "A", "alpha", "B1", "kappa1", "B2", "kappa2"],
                     [2.4, 0.6, 0.45, 20.0, 3.0, 10.0, 60.0]),
}


def fit_file(path, law, values, names=None):
    """A FIT.json as `river curve fit` writes it, with chosen parameters (named as `law`'s unless `names`)."""
    names = names or LAWS[law][1]
    doc = {"law": law, "parameters": dict(zip(names, values)), "objective": 0.0, "runs": [], "peak": 3e-3,
           "warmup": 50, "seed": 0, "starts": 1, "iterations": 0, "evaluations": 0, "stop": "gradient",
           "gradientNorm": 0.0, "seconds": 0.0}
    path.write_text(json.dumps(doc))
    return path


def run_file(path, eta, steps, loss):
    """A run file giving the LR at every step (so interpolation is exact) and losses at `steps`."""
    rows = {s: "" for s in range(len(eta))}
    for s, l in zip(steps, loss):
        rows[s] = repr(float(l))
    path.write_text("step,lr,loss\n" + "".join(f"{s},{float(eta[s])!r},{rows[s]}\n" for s in range(len(eta))))
    return path


def metrics(y, p):
    e = y - p
    return {"r2": 1 - np.sum(e ** 2) / np.sum((y - y.mean()) ** 2), "mae": np.mean(np.abs(e)),
            "rmse": np.sqrt(np.mean(e ** 2)), "pred_e": np.mean(np.abs(e) / y), "worst_e": np.max(np.abs(e) / y)}


@pytest.mark.parametrize("law", list(LAWS))
@pytest.mark.parametrize("kind", ["cosine", "wsd", "drop"])
def test_prediction_matches_numpy(tmp_path, river, law, kind):
    fn, _, par = LAWS[law]
    T = 400
    eta = schedule(T, kind)
    steps = sorted(int(s) for s in RNG.choice(np.arange(1, T), size=40, replace=False))
    ref = fn(par, eta, steps)
    loss = ref * (1 + 0.01 * RNG.standard_normal(len(ref)))
    fit = fit_file(tmp_path / "fit.json", law, par)
    run = run_file(tmp_path / "run.csv", eta, steps, loss)
    out = tmp_path / "pred.csv"
    proc = river("curve", "predict", "--fit", fit, "--run", run, "--out", out, check=True)
    pred = np.genfromtxt(out, delimiter=",", names=True)
    np.testing.assert_array_equal(pred["step"], steps)
    np.testing.assert_allclose(pred["predicted"], ref, rtol=1e-10, atol=0)
    got = json.loads(proc.stdout)
    assert got["points"] == len(steps)
    for key, want in metrics(loss, ref).items():
        assert got[key] == pytest.approx(want, rel=1e-9, abs=1e-14), key


def bad(river, *args):
    proc = river("curve", *map(str, args))
    assert proc.returncode != 0, proc.stdout
    return proc.stderr


def test_bad_inputs(tmp_path, river):
    eta = schedule(200, "cosine")
    good = run_file(tmp_path / "good.csv", eta, [50, 100, 150], [3.0, 2.9, 2.8])
    good2 = run_file(tmp_path / "good2.csv", schedule(200, "drop"), [50, 100, 150], [3.0, 2.9, 2.8])
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("step,lr,loss\n1,0.001,3.0\n2,0.001\n")
    assert "2 cells but the header has 3" in bad(river, "fit", "--law", "momentum", "--runs", f"{ragged},{good}", "--out", tmp_path / "f.json")
    nan = tmp_path / "nan.csv"
    nan.write_text("step,lr,loss\n1,0.001,3.0\n2,0.001,nan\n")
    assert "loss 'nan'" in bad(river, "fit", "--law", "momentum", "--runs", f"{nan},{good}", "--out", tmp_path / "f.json")
    back = tmp_path / "back.csv"
    back.write_text("step,lr,loss\n5,0.001,3.0\n4,0.001,2.9\n")
    assert "steps must increase" in bad(river, "fit", "--law", "momentum", "--runs", f"{back},{good}", "--out", tmp_path / "f.json")
    assert "single run" in bad(river, "fit", "--law", "multi-power", "--runs", good, "--out", tmp_path / "f.json")
    assert not (tmp_path / "f.json").exists()
    other = fit_file(tmp_path / "mom.json", "momentum", LAWS["multi-power"][2], LAWS["multi-power"][1])  # MPL's parameters
    assert "another law" in bad(river, "predict", "--fit", other, "--run", good)
    assert "'bogus'" in bad(river, "fit", "--law", "bogus", "--runs", f"{good},{good2}", "--out", tmp_path / "f.json")
    assert "--schedule-files has 1 files but --runs has 2" in bad(river, "fit", "--law", "momentum", "--runs", f"{good},{good2}",
                                                             "--schedule-files", good, "--out", tmp_path / "f.json")
    assert "fits only --law multi-power" in bad(river, "fit", "--law", "river-valley", "--optimizer", "adamw",
                                                "--runs", f"{good},{good2}", "--out", tmp_path / "f.json")
    assert "'sgd'" in bad(river, "fit", "--law", "momentum", "--optimizer", "sgd", "--runs", f"{good},{good2}",
                          "--out", tmp_path / "f.json")
    assert not (tmp_path / "f.json").exists()


# The Multi-Power Law authors' published fits and held-out averages (datasets/multipowerlaw/README.md,
# from their paper and `src/config.py`): [L0, A, alpha, B, C, beta, gamma] and R², MAE, RMSE, PredE, WorstE.
PUBLISHED = {
    25: ([3.04045406, 0.52468604, 0.50786857, 363.78751622, 2.06560812, 0.58279013, 0.64142257],
         {"r2": 0.9988, "mae": 0.00376, "rmse": 0.00465, "pred_e": 0.00110, "worst_e": 0.00409}),
    100: ([2.6514477, 0.60115152, 0.45295811, 437.9464276, 2.13245612, 0.59785199, 0.65523644],
          {"r2": 0.9983, "mae": 0.00435, "rmse": 0.00592, "pred_e": 0.00142, "worst_e": 0.00583}),
    400: ([2.37474466, 0.65421216, 0.42878731, 523.42464371, 2.02462735, 0.59350493, 0.63472457],
          {"r2": 0.9978, "mae": 0.00484, "rmse": 0.00730, "pred_e": 0.00168, "worst_e": 0.00995}),
}
HELD_OUT = ["constant_72000", "cosine_72000", "wsd_20000_24000", "wsdld_20000_24000", "wsdcon_3", "wsdcon_18"]


@pytest.mark.parametrize("size", [25, 100, 400])
def test_published_fit_reproduces_published_held_out_numbers(tmp_path, river, repo, size):
    """`river curve predict` with the authors' parameters and exact LRs gives their table, to the rounding
    of the published digits (half a unit in the last digit)."""
    params, table = PUBLISHED[size]
    fit = fit_file(tmp_path / "fit.json", "multi-power", params)
    data = repo / "datasets" / "multipowerlaw"
    got = [json.loads(river("curve", "predict", "--fit", fit, "--run", data / f"csv_{size}" / f"{n}.csv",
                            "--schedule", data / "schedules" / f"{n}.csv", check=True).stdout) for n in HELD_OUT]
    for key, want in table.items():
        digits = 4 if key == "r2" else 5  # the table's R² has 4 decimals, the errors 5
        assert abs(np.mean([g[key] for g in got]) - want) <= 0.5 * 10 ** -digits + 1e-9, key


def split_fit(river, repo, tmp_path, size, optimizer, seed=0, tag=""):
    data = repo / "datasets" / "multipowerlaw"
    train = ["cosine_24000", "constant_24000", "wsdcon_9"]
    out = tmp_path / f"fit_{optimizer}_{seed}{tag}.json"
    proc = river("curve", "fit", "--law", "multi-power", "--optimizer", optimizer, "--seed", seed,
                 "--runs", ",".join(str(data / f"csv_{size}" / f"{n}.csv") for n in train),
                 "--schedule-files", ",".join(str(data / "schedules" / f"{n}.csv") for n in train),
                 "--out", out, check=True, timeout=600)
    return json.loads(proc.stdout), out


@pytest.mark.parametrize("size", [25, 100, 400])
def test_authors_procedure_reproduces_their_fit_and_held_out_numbers(tmp_path, river, repo, size):
    """`--optimizer adamw` (the authors' reduced-law start and early-stopped AdamW) recovers their published
    parameters to 1e-4 relative and, through `predict`, their held-out averages: R² within 0.0005 and MAE
    within 10% (the issue's criterion), and in fact to the published digits."""
    params, table = PUBLISHED[size]
    fit, path = split_fit(river, repo, tmp_path, size, "adamw")
    got = [fit["parameters"][n] for n in LAWS["multi-power"][1]]
    np.testing.assert_allclose(got, params, rtol=1e-4)
    data = repo / "datasets" / "multipowerlaw"
    pred = [json.loads(river("curve", "predict", "--fit", path, "--run", data / f"csv_{size}" / f"{n}.csv",
                             "--schedule", data / "schedules" / f"{n}.csv", check=True).stdout) for n in HELD_OUT]
    r2, mae = np.mean([p["r2"] for p in pred]), np.mean([p["mae"] for p in pred])
    assert abs(r2 - table["r2"]) <= 5e-4 and abs(mae - table["mae"]) <= 0.1 * table["mae"], (r2, mae)
    assert abs(r2 - table["r2"]) <= 0.5e-4 + 1e-9 and abs(mae - table["mae"]) <= 0.5e-5 + 1e-9, (r2, mae)


def test_lm_fit_is_deterministic_and_below_the_published_objective(tmp_path, river, repo):
    """The default fit: the same seed gives the same parameters bit for bit, and the converged objective
    lies below that of the authors' early-stopped fit (same law, same objective)."""
    a, _ = split_fit(river, repo, tmp_path, 400, "lm")
    b, _ = split_fit(river, repo, tmp_path, 400, "lm", tag="-again")
    assert a["parameters"] == b["parameters"] and a["objective"] == b["objective"]
    published, _ = split_fit(river, repo, tmp_path, 400, "adamw")
    assert a["objective"] < 0.5 * published["objective"]
    assert a["stop"] in ("value", "gradient", "step")


def test_run_directory_and_schedule_json(tmp_path, river):
    """A `river train` run directory (config.json schedule + metrics.jsonl) is a run: its exact LRs come from
    the ScheduleSpec and its validation losses of record n sit at curve step n-1; a ScheduleSpec .json given
    with --schedule replaces a run file's interpolated LRs. Reference: the numpy momentum law on the same LRs."""
    spec = {"kind": "wsd", "steps": 300, "peak": 2e-3, "warmup": 30, "decay": 60, "shape": "linear",
            "minRatio": 0.1, "rewarmup": 0, "decayOf": "cycle"}
    w, p, r = 30, 2e-3, 0.1
    t = np.arange(300)
    eta = np.where(t < w, p * t / w, np.where(t < 240, p, p * (r + (1 - r) * (1 - (t - 240) / 60))))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"schedule": spec}))
    lines = []
    for n in range(1, 301):
        rec = {"step": n, "lr": float(eta[n - 1]), "loss": 3.0, "grad_norm": 1.0, "tokens": 0, "wall": 0.0}
        if n % 25 == 0:
            rec["val_loss"] = 3.0 - n * 1e-3
        lines.append(json.dumps(rec))
    (run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    _, names, par = LAWS["momentum"]
    fit = fit_file(tmp_path / "fit.json", "momentum", par)
    out = tmp_path / "pred.csv"
    river("curve", "predict", "--fit", fit, "--run", run_dir, "--out", out, check=True)
    pred = np.genfromtxt(out, delimiter=",", names=True)
    steps = [n - 1 for n in range(25, 301, 25)]
    np.testing.assert_array_equal(pred["step"], steps)
    np.testing.assert_allclose(pred["predicted"], momentum(par, eta, steps), rtol=1e-10)
    # The same losses as a run file with only two LR rows, corrected by the ScheduleSpec.
    csv = tmp_path / "coarse.csv"
    csv.write_text("step,lr,loss\n" + "".join(f"{s},0.002,{3.0 - (s + 1) * 1e-3}\n" for s in steps))
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out2 = tmp_path / "pred2.csv"
    river("curve", "predict", "--fit", fit, "--run", csv, "--schedule", tmp_path / "spec.json", "--out", out2, check=True)
    np.testing.assert_allclose(np.genfromtxt(out2, delimiter=",", names=True)["predicted"], pred["predicted"], rtol=1e-12)
