"""Fuzzing the `river` CLI: no input crashes it, and a failed command leaves no output.

A seeded generator mutates one thing per case in a small, valid invocation of every subcommand: a flag
value (huge, negative, NaN, ±inf, empty, garbage, fractional), a value or key of a JSON config (RunConfig,
TransformerConfig, batch file), a Levanter YAML value, a CSV cell or the CSV's shape, or a safetensors file
(header shapes, offsets, dtypes, the length prefix, truncation, flipped data bytes). Each case runs the
release binary ($RIVER_BIN) in its own folder and fails the test on

- a signal, a Swift runtime trap or any exit status >= 128 (a crash instead of an error);
- running past the time limit (unbounded work from a value that should have been range-checked);
- a partial output: a command that failed and created or changed a file in its folder;
- a misspelt config key that is not reported by name (docs/cli.md: unknown keys are errors).

Every base invocation is also run unmutated and must succeed, so mutations reach the code behind the
argument parser. Flags use the vocabulary of docs/cli.md; where a subcommand's `--help` does not list a
new name yet, the old spelling in `RENAMED` is used, so the same table runs before and after the rename.
"""
import json
import os
import random
import re
import shutil
import struct
import subprocess
import time
import zlib

import pytest

SEED = int(os.environ.get("RIVER_FUZZ_SEED", "20261202"))  # override to explore other cases
MUTATIONS_PER_BASE = 12   # × ~39 bases ≈ 470 mutated cases (plus the unmutated bases)
CASE_TIMEOUT = 30         # seconds; the bases run in well under a second or two each

# New name (docs/cli.md) → the spelling it replaces.
RENAMED = {
    "--save-parameters": "--params-out", "--parameters": "--params", "--levanter": "--config",
    "--decay-of": "--convention", "--batch-size": "--batch", "--seed-count": "--seeds",
    "--model-config": "--config", "--epsilon": "--eps", "--batch-file": "--batch", "--parent": "--from",
}

# Commands whose output is a training run directory (kept once training has started).
INCREMENTAL = {"train", "branch", "sweep", "analyze decay-probe"}

HUGE = ["9223372036854775807", "9223372036854775808", "4611686018427387904", "4294967296", "2147483648",
        "100000000000", "1e308", "1e300", "1e20", "1e19"]
BAD = ["-1", "-9223372036854775808", "-1e300", "0", "nan", "inf", "-inf", "", "garbage", "1.5", "0x10",
       "1,,2", "-0", "1e-320", " ", "١٢"]
FLAG_VALUES = HUGE + BAD
LIST_VALUES = ["20,10", "10,10", ",", "10,", "1e20,2e20", "9223372036854775807", "-5,10", "0", "10,garbage",
               ",".join(str(i) for i in range(1, 20_001)) + ",x"]
JSON_VALUES = [2**63 - 1, 2**63, 2**62, 2**31, 10**11, 1e308, 1e20, -1, 0, -(2**63), 1.5, 1e-320, "garbage",
               None, [], {}, True, [1e20], [-1, 2**62]]
YAML_VALUES = [".inf", "-.inf", ".nan", "1e20", "[1e20]", "[]", "{}", "garbage", "-1", "9223372036854775807",
               "99999999999999999999999", "[2147483648, 2147483648]", "0", "1.5", "null", "[1, -1]"]
CSV_CELLS = ["nan", "inf", "-inf", "-1", "1e308", "", "garbage", "1e-320", "0x10", "9223372036854775807"]


# ---------------------------------------------------------------------------------------------- fixtures


def safetensors_bytes(tensors, metadata=None):
    """A safetensors file (header padded to 8 bytes) from {name: (dtype, shape, raw bytes)}."""
    header, blobs, pos = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [pos, pos + len(raw)]}
        blobs.append(raw)
        pos += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def f64(values):
    return struct.pack(f"<{len(values)}d", *values)


@pytest.fixture(scope="module")
def fx(tmp_path_factory, river):
    """Small valid inputs of every format, and a trained tiny run with checkpoints."""
    d = tmp_path_factory.mktemp("fuzz-fixtures")
    rng = random.Random(SEED)
    v = 4
    rows = []
    for i in range(v):
        w = [rng.random() + 0.1 for _ in range(v)]
        rows.append([x / sum(w) for x in w])
    (d / "T.csv").write_text("\n".join(",".join(repr(x) for x in r) for r in rows) + "\n")
    (d / "F.csv").write_text("\n".join(str(i + 1) for i in range(v)) + "\n")
    (d / "table.safetensors").write_bytes(safetensors_bytes({"W": ("F64", [v, v], f64([0.1 * i for i in range(v * v)]))}))
    width = 2
    (d / "fact.safetensors").write_bytes(safetensors_bytes({
        "E": ("F64", [v, width], f64([0.01 * i for i in range(v * width)])),
        "U": ("F64", [width, v], f64([-0.02 * i for i in range(v * width)])),
        "b": ("F64", [v], f64([0.0] * v))}))
    (d / "lev.yaml").write_text("optimizer:\n  learning_rate: 0.01\n  min_lr_ratio: 0.1\n  warmup: 0.1\n"
                                "  decay: 0.2\n  cycles: 2\n  rewarmup: 0.0\n  lr_schedule: inv\n"
                                "trainer:\n  num_train_steps: 20\n")
    words = "the river valley hill loss rate decay stable king thou art of".split()
    (d / "corpus.txt").write_text(" ".join(rng.choice(words) for _ in range(6000)) + "\n")
    (d / "text.txt").write_text(" ".join(rng.choice(words) for _ in range(200)) + "\n")
    model = {"vocabSize": 256, "contextLength": 16, "width": 16, "layers": 1, "heads": 2, "mlpHidden": 32,
             "tiedEmbeddings": False, "ropeTheta": 10000.0, "normEpsilon": 1e-5}
    (d / "model.json").write_text(json.dumps(model))
    run = {"model": {k: model[k] for k in ("vocabSize", "contextLength", "width", "layers", "heads", "mlpHidden")},
           "data": {"corpus": str(d / "corpus.txt"), "splitBlock": 512, "validationEvery": 5},
           "optimizer": {"algorithm": "adamw", "beta2": 0.95},
           "schedule": {"kind": "wsd", "steps": 6, "peak": 0.003, "warmup": 0, "decay": 0.5, "shape": "inv"},
           "batchSize": 2, "evalEvery": 3, "evalWindows": 2, "checkpointEvery": 3, "keepLast": 2}
    (d / "run.json").write_text(json.dumps(run))
    tokens = [[rng.randrange(256) for _ in range(8)] for _ in range(2)]
    (d / "batch.json").write_text(json.dumps({"tokens": tokens, "targets": [t[1:] + [0] for t in tokens]}))
    river("train", "--out", d / "run", "--config", d / "run.json", "--quiet", check=True)
    ckpts = sorted((d / "run" / "checkpoints").glob("*.safetensors"))
    assert ckpts, "the fixture run wrote no checkpoint"
    shutil.copy(ckpts[-1], d / "ck.safetensors")
    shutil.copy(ckpts[0], d / "ck0.safetensors")
    # Token ids for --tokens (raw little-endian int32) and loss curves for `river curve`.
    (d / "ids.bin").write_bytes(struct.pack("<64i", *[rng.randrange(256) for _ in range(64)]))
    for name, lr in (("c1.csv", lambda t: 0.01), ("c2.csv", lambda t: 0.01 * (1 - t / 400))):
        rows, area = ["step,lr,loss"], 0.0
        for t in range(1, 400, 7):
            area += 7 * lr(t)
            rows.append(f"{t},{lr(t)!r},{2.0 + 1.5 * (1 + area) ** -0.5 + 3 * lr(t):.6f}")
        (d / name).write_text("\n".join(rows) + "\n")
    river("curve", "fit", "--law", "momentum", "--runs", f"{d / 'c1.csv'},{d / 'c2.csv'}", "--out", d / "fit.json",
          check=True)
    # A tiny Hugging Face LLaMA folder (config.json + model.safetensors, F32) for `river import`.
    hf, V, C, F, L = d / "hf", 32, 8, 16, 1
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": C, "intermediate_size": F,
        "num_attention_heads": 2, "num_key_value_heads": 2, "num_hidden_layers": L, "vocab_size": V,
        "max_position_embeddings": 16, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
        "hidden_act": "silu", "attention_bias": False, "mlp_bias": False, "torch_dtype": "float32"}))
    def f32(shape):
        n = 1
        for x in shape:
            n *= x
        return ("F32", list(shape), struct.pack(f"<{n}f", *[rng.uniform(-0.1, 0.1) for _ in range(n)]))
    tensors = {"model.embed_tokens.weight": f32([V, C]), "model.norm.weight": f32([C]), "lm_head.weight": f32([V, C])}
    for i in range(L):
        pre = f"model.layers.{i}."
        for k in "qkvo":
            tensors[pre + f"self_attn.{k}_proj.weight"] = f32([C, C])
        tensors[pre + "mlp.gate_proj.weight"] = f32([F, C])
        tensors[pre + "mlp.up_proj.weight"] = f32([F, C])
        tensors[pre + "mlp.down_proj.weight"] = f32([C, F])
        tensors[pre + "input_layernorm.weight"] = f32([C])
        tensors[pre + "post_attention_layernorm.weight"] = f32([C])
    (hf / "model.safetensors").write_bytes(safetensors_bytes(tensors, {"format": "pt"}))
    return d


# -------------------------------------------------------------------------------------------- base table


def bases():
    """Valid tiny invocations. Tokens: `@name` is a fixture file copied into the case folder (and may be
    mutated), `%name` an output path in the case folder. `flags` lists the flags whose values are mutated;
    `lists` those taking comma lists."""
    sched = ["--steps", "20", "--peak", "0.1"]
    return [
        dict(argv=["schedule", "--kind", "wsd", *sched, "--warmup", "0.1", "--decay", "0.2", "--shape", "inv",
                   "--min-ratio", "0.1"],
             flags=["--steps", "--peak", "--warmup", "--decay", "--min-ratio", "--kind", "--shape"]),
        dict(argv=["schedule", "--kind", "wsds", *sched, "--cycles", "10", "--decay", "0.2", "--rewarmup", "2",
                   "--decay-of", "cumulative"],
             flags=["--steps", "--decay", "--rewarmup", "--decay-of"], lists=["--cycles"]),
        dict(argv=["schedule", "--kind", "cyclic-cosine", *sched, "--cycle-count", "2", "--warmup", "2"],
             flags=["--cycle-count", "--warmup", "--steps"]),
        dict(argv=["schedule", "--levanter", "@lev.yaml", "--steps", "20"], flags=["--steps"], yaml="lev.yaml"),
        dict(argv=["branch-plan", "--budgets", "10,20", "--decay", "0.2", "--decay-of", "cycle"],
             flags=["--decay", "--decay-of"], lists=["--budgets"]),
        dict(argv=["spectrum", "--random-symmetric", "8", "--seed", "1", "--write-matrix", "%m.bin"],
             flags=["--random-symmetric", "--seed", "--top", "--repeat"]),
        dict(argv=["spectrum", "--random-symmetric", "8", "--method", "lanczos", "--top", "2", "--iterations", "6"],
             flags=["--random-symmetric", "--top", "--iterations", "--method"]),
        dict(argv=["spectrum", "--random-symmetric", "8", "--method", "slq", "--iterations", "4", "--runs", "2",
                   "--grid-points", "16", "--json"],
             flags=["--iterations", "--runs", "--grid-points"]),
        dict(argv=["spectrum", "--landscape", "straight-valley", "--dim", "3", "--hill-curvature", "4",
                   "--at", "0,0,0"], flags=["--dim", "--hill-curvature", "--landscape"], lists=["--at"]),
        dict(argv=["spectrum", "--landscape", "curved-valley", "--dim", "2", "--on-river=-0.5",
                   "--method", "lanczos", "--top", "1", "--iterations", "2"],
             flags=["--dim", "--on-river", "--amplitude", "--wavenumber", "--hill-curvature"]),
        dict(argv=["simulate", "--landscape", "straight-valley", "--dim", "3", "--hill-curvature", "4",
                   "--noise", "0.1", "--optimizer", "sgd", "--kind", "wsd", *sched, "--seed-count", "2",
                   "--out", "%sim.csv"],
             flags=["--dim", "--hill-curvature", "--noise", "--steps", "--peak", "--seed-count", "--record-every",
                    "--river-slope", "--optimizer", "--decay", "--warmup"], lists=["--start"]),
        dict(argv=["simulate", "--landscape", "curved-valley", "--dim", "2", "--optimizer", "momentum",
                   "--kind", "cosine", *sched, "--top-eigenvalue", "--out", "%sim.csv"],
             flags=["--dim", "--momentum", "--amplitude", "--wavenumber", "--steps"]),
        dict(argv=["simulate", "--landscape", "straight-valley", "--dim", "2", "--optimizer", "adam",
                   "--levanter", "@lev.yaml", "--steps", "20", "--out", "%sim.csv"],
             flags=["--beta1", "--beta2", "--epsilon", "--steps"], yaml="lev.yaml"),
        dict(argv=["bigram", "generate", "--vocab", "8", "--out", "%gen"],
             flags=["--vocab", "--mix", "--frequency-law", "--data-seed"], outdir="gen"),
        dict(argv=["bigram", "train", "--vocab", "8", "--kind", "wsd", "--steps", "6", "--peak", "0.5",
                   "--model", "table", "--batch-size", "4", "--out", "%tr.csv", "--save-parameters", "%p.safetensors"],
             flags=["--vocab", "--batch-size", "--steps", "--peak", "--log-every", "--eigen-every", "--optimizer",
                    "--model", "--mix"]),
        dict(argv=["bigram", "train", "--vocab", "8", "--steps", "6", "--peak", "0.5", "--model", "factorized",
                   "--width", "3", "--eigen-every", "3", "--out", "%tr.csv", "--save-parameters", "%p.safetensors"],
             flags=["--width", "--vocab", "--eigen-every", "--batch-size"]),
        dict(argv=["bigram", "train", "--transitions", "@T.csv", "--frequencies", "@F.csv", "--steps", "6",
                   "--peak", "0.5", "--out", "%tr.csv"], flags=["--steps"], csv=["T.csv", "F.csv"]),
        dict(argv=["bigram", "evaluate", "--transitions", "@T.csv", "--model", "table",
                   "--parameters", "@table.safetensors"], flags=["--model"], csv=["T.csv"],
             st=["table.safetensors"]),
        dict(argv=["bigram", "analyze", "--transitions", "@T.csv", "--model", "factorized",
                   "--parameters", "@fact.safetensors", "--spectrum-out", "%s.csv", "--tokens-out", "%k.csv"],
             flags=["--model"], csv=["T.csv"], st=["fact.safetensors"]),
        dict(argv=["bigram", "analyze", "--vocab", "4", "--mix", "deterministic:0.5,uniform-2:0.5", "--model", "table",
                   "--parameters", "@table.safetensors", "--tokens-out", "%k.csv"],
             flags=["--vocab", "--mix", "--model"], st=["table.safetensors"]),
        dict(argv=["eval", "--checkpoint", "@ck.safetensors", "--text", "@text.txt", "--per-token", "%pt.csv",
                   "--batch-size", "2", "--max-bytes", "300"],
             flags=["--batch-size", "--max-bytes"], st=["ck.safetensors"]),
        dict(argv=["train", "--out", "%run", "--config", "@run.json", "--steps", "3", "--quiet"],
             flags=["--steps", "--seed"], json=["run.json"]),
        dict(argv=["train", "--out", "@run", "--resume", "--quiet"], flags=[], st=["run/checkpoints/*"],
             json=["run/config.json", "run/tokenizer.json"]),
        dict(argv=["branch", "--parent", "@run", "--step", "3", "--out", "%br", "--budget", "6", "--decay", "0.5",
                   "--quiet"], flags=["--step", "--budget", "--decay", "--min-ratio", "--shape"],
             json=["run/config.json"]),
        dict(argv=["sweep", "--out", "%sw", "--config", "@run.json", "--budgets", "8,12", "--seeds", "0",
                   "--schedules", "wsd", "--decay", "0.25", "--decay-of", "cumulative", "--quiet"],
             flags=["--decay", "--decay-of", "--shape", "--min-ratio", "--peak", "--warmup", "--schedules"],
             lists=["--budgets", "--seeds"], json=["run.json"]),
        dict(argv=["debug-model", "grad", "--model-config", "@model.json", "--batch-file", "@batch.json",
                   "--out", "%o.safetensors", "--save-parameters", "%sp.safetensors"],
             flags=["--steps", "--lr", "--beta1", "--beta2", "--epsilon", "--clip", "--weight-decay", "--seed"],
             json=["model.json", "batch.json"]),
        dict(argv=["debug-model", "grad", "--preset", "tiny", "--batch-file", "@batch.json",
                   "--parameters", "@sp.safetensors", "--out", "%o.safetensors"],
             flags=["--preset"], st=["sp.safetensors"]),
        dict(argv=["debug-model", "bench", "--preset", "tiny", "--batch-size", "2", "--steps", "1",
                   "--untimed-steps", "0", "--threads", "1"],
             flags=["--batch-size", "--steps", "--untimed-steps", "--threads", "--preset"]),
        dict(argv=["experiment", "--list"], flags=[]),
        dict(argv=["eval", "--checkpoint", "@ck.safetensors", "--tokens", "@ids.bin", "--batch-size", "2"],
             flags=["--batch-size"], st=["ck.safetensors"]),
        dict(argv=["import", "--from", "hf-llama", "@hf", "--out", "%imp.safetensors", "--context-length", "8"],
             flags=["--from", "--context-length"], json=["hf/config.json"], st=["hf/model.safetensors"]),
        dict(argv=["analyze", "hessian", "--checkpoint", "@ck.safetensors", "--text", "@text.txt", "--max-bytes", "200",
                   "--top", "2", "--iterations", "4", "--trace-probes", "2", "--density", "%d.csv", "--probes", "2"],
             flags=["--top", "--iterations", "--trace-probes", "--probes", "--max-bytes", "--seed", "--batch-size"],
             st=["ck.safetensors"]),
        dict(argv=["analyze", "hessian", "--checkpoint", "@ck.safetensors", "--tokens", "@ids.bin", "--top", "1",
                   "--iterations", "3", "--trace-probes", "0", "--preconditioned"],
             flags=["--top", "--iterations"], st=["ck.safetensors"]),
        dict(argv=["analyze", "interpolate", "--checkpoints", "@ck0.safetensors,@ck.safetensors", "--text", "@text.txt",
                   "--max-bytes", "200", "--points", "3", "--extend", "0.5", "--out", "%i.csv"],
             flags=["--points", "--extend", "--max-bytes", "--batch-size"], st=["ck.safetensors"]),
        dict(argv=["analyze", "tokens", "--checkpoints", "@ck0.safetensors,@ck.safetensors", "--text", "@text.txt",
                   "--max-bytes", "200", "--order", "1", "--buckets", "3", "--out", "%t.csv"],
             flags=["--order", "--buckets", "--uncertainty", "--max-bytes"], st=["ck0.safetensors"]),
        dict(argv=["analyze", "noise", "--checkpoint", "@ck.safetensors", "--batches", "4", "--batch-size", "2"],
             flags=["--batches", "--batch-size", "--seed"], st=["ck.safetensors"]),
        dict(argv=["analyze", "sharpness", "--run", "@run", "--text", "@text.txt", "--max-bytes", "200", "--top", "1",
                   "--iterations", "3", "--out", "%s.csv"],
             flags=["--top", "--iterations", "--max-bytes"], st=["run/checkpoints/*"]),
        dict(argv=["analyze", "decay-probe", "--run", "@run", "--step", "3", "--decay", "2", "--out", "%probe",
                   "--text", "@text.txt", "--max-bytes", "200", "--batches", "4", "--quiet"],
             flags=["--step", "--decay", "--batches", "--budget", "--min-ratio", "--shape", "--max-bytes"],
             st=["run/checkpoints/*"], json=["run/config.json"]),
        dict(argv=["curve", "fit", "--law", "momentum", "--runs", "@c1.csv,@c2.csv", "--out", "%f.json"],
             flags=["--law", "--seed"], csv=["c1.csv"]),
        dict(argv=["curve", "predict", "--fit", "@fit.json", "--run", "@c2.csv", "--out", "%p.csv"],
             flags=[], json=["fit.json"], csv=["c2.csv"]),
        dict(argv=["curve", "advise", "--fit", "@fit.json", "--steps", "200", "--shapes", "linear,inv"],
             flags=["--steps", "--peak", "--min-ratio", "--warmup"], lists=["--shapes"], json=["fit.json"]),
    ]


# ------------------------------------------------------------------------------------------- mutations


def typo(key, rng):
    """A plausible misspelling: two neighbouring letters swapped (or a letter doubled)."""
    if len(key) >= 3:
        i = rng.randrange(len(key) - 1)
        if key[i] != key[i + 1]:
            return key[:i] + key[i + 1] + key[i] + key[i + 2:]
    return key + key[-1]


def json_leaves(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from json_leaves(v, path + (k,))
    elif isinstance(obj, list) and obj and not isinstance(obj[0], list):
        yield path, obj
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from json_leaves(v, path + (i,))
    else:
        yield path, obj


def mutate_json(text, rng, keys_checked):
    """Returns (new text, misspelt key path or None)."""
    obj = json.loads(text)
    leaves = list(json_leaves(obj))
    path, _ = rng.choice(leaves)
    parent = obj
    for p in path[:-1]:
        parent = parent[p]
    if keys_checked and isinstance(path[-1], str) and rng.random() < 0.3:
        bad = typo(path[-1], rng)
        parent[bad] = parent.pop(path[-1])
        return json.dumps(obj), ".".join(map(str, path[:-1] + (bad,)))
    value = rng.choice(JSON_VALUES)
    parent[path[-1]] = value
    try:
        return json.dumps(obj), None
    except ValueError:   # non-finite floats are not JSON; write them the way a hand-edited file might
        return json.dumps(obj, allow_nan=True), None


def mutate_yaml(text, rng):
    """Replaces one `key: value` line's value, or misspells the key. Returns (text, misspelt key or None)."""
    lines = text.splitlines()
    idx = [i for i, l in enumerate(lines) if re.match(r"\s+\w+: ", l)]
    i = rng.choice(idx)
    indent, key, _ = re.match(r"(\s+)(\w+): (.*)", lines[i]).groups()
    if rng.random() < 0.25 and key != "num_train_steps":
        bad = typo(key, rng)
        lines[i] = f"{indent}{bad}: {_}"
        return "\n".join(lines) + "\n", bad
    lines[i] = f"{indent}{key}: {rng.choice(YAML_VALUES)}"
    return "\n".join(lines) + "\n", None


def mutate_csv(text, rng):
    rows = [r.split(",") for r in text.strip().splitlines()]
    kind = rng.randrange(6)
    if kind == 0:
        r = rng.randrange(len(rows)); c = rng.randrange(len(rows[r]))
        rows[r][c] = rng.choice(CSV_CELLS)
    elif kind == 1 and len(rows[0]) > 1:
        rows[rng.randrange(len(rows))].pop()
    elif kind == 2:
        rows.append(list(rows[0]))
    elif kind == 3:
        return ""
    elif kind == 4:
        return text[: rng.randrange(len(text))]
    else:
        rows = [r * 3 for r in rows]
    return "\n".join(",".join(r) for r in rows) + "\n"


def mutate_safetensors(data, rng):
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    names = [k for k in header if k != "__metadata__"]
    kind = rng.randrange(9)
    if kind == 0:
        return data[: rng.randrange(len(data))]                      # truncated
    if kind == 1:
        return struct.pack("<Q", rng.choice([2**63, 2**40, len(data), 0, n + 1])) + data[8:]
    if kind == 2 and body:
        i = rng.randrange(len(body))
        return data[:8 + n + i] + bytes([body[i] ^ 0x5A]) + data[8 + n + i + 1:]   # flipped data byte
    if rng.random() < 0.5:
        header.get("__metadata__", {}).pop("checksum.index", None)
        header.get("__metadata__", {}).pop("checksum.data", None)
    t = header[rng.choice(names)]
    if kind == 3:
        t["shape"] = rng.choice([[2147483648, 2147483648], [2**62, 4], [2**63 - 1], [-1, 4], [1.5], ["x"],
                                 [4, 0, 2**62, 2**62], [1] * 64])
    elif kind == 4:
        t["data_offsets"] = rng.choice([[0, 2**63 - 1], [2**62, 2**62 + 8], [-8, 0], [8, 0], [0], "x"])
    elif kind == 5:
        t["dtype"] = rng.choice(["F65", "", 7, "f32", "BOOL"])
    elif kind == 6:
        del header[rng.choice(names)]
    elif kind == 7:
        header["extra"] = {"dtype": "F64", "shape": [2**31, 2**31], "data_offsets": [len(body), len(body)]}
    elif rng.random() < 0.3:
        doubling = [[0, 0]] + [[256 + i, 256 + i] for i in range(40)]
        header.setdefault("__metadata__", {})["tokenizer"] = rng.choice(
            [json.dumps({"type": "bpe", "merges": doubling}), '{"type": "bpe", "merges": [[5, 9999999999]]}',
             '{"type": "zip"}', "[]", '{"type": "bpe", "merges": [[1]]}'])
    else:
        header.setdefault("__metadata__", {})["config"] = rng.choice(
            ['{"model": {"width": 2147483648}}', '{"batchSize": 9223372036854775807}', "not json", "{}",
             '{"model": {"contextLength": 9223372036854775807, "preset": "tiny"}}'])
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + body


# ------------------------------------------------------------------------------------------------ runner


class Runner:
    def __init__(self, river_bin, fx, root):
        self.bin, self.fx, self.root = str(river_bin), fx, root
        self.helps = {}
        self.count = 0

    def flags_of(self, sub):
        if sub not in self.helps:
            p = subprocess.run([self.bin, *sub, "--help"], capture_output=True, text=True, timeout=30)
            self.helps[sub] = set(re.findall(r"--[a-z0-9][a-z0-9-]*", p.stdout + p.stderr))
        return self.helps[sub]

    def spell(self, sub, flag):
        """The new name if this subcommand knows it, else the old spelling it replaces."""
        known = self.flags_of(sub)
        if flag in known or flag not in RENAMED:
            return flag
        return RENAMED[flag] if RENAMED[flag] in known else flag

    def prepare(self, base, mutate_file=None):
        self.count += 1
        case = self.root / f"case{self.count:04d}"
        case.mkdir()
        argv = list(base["argv"])
        sub = tuple(a for a in argv[:2] if not a.startswith("-") and not a.startswith("@") and not a.startswith("%"))
        if sub and sub[0] not in ("bigram", "debug-model", "analyze", "curve"):
            sub = sub[:1]
        out = []
        for a in argv:
            if a.startswith("@"):
                paths = []
                for item in a.split(","):   # a comma list of fixtures: @a,@b
                    src = self.fx / item[1:]
                    dst = case / item[1:]
                    if src.is_dir():
                        shutil.copytree(src, dst)
                    else:
                        shutil.copy(src, dst)
                    paths.append(str(dst))
                out.append(",".join(paths))
            elif a.startswith("%"):
                out.append(str(case / a[1:]))
            elif a.startswith("--"):
                out.append(self.spell(sub, a))
            else:
                out.append(a)
        return case, sub, out

    def run(self, case, argv):
        before = snapshot(case)
        t0 = time.monotonic()
        try:
            p = subprocess.run([self.bin, *argv], capture_output=True, text=True, timeout=CASE_TIMEOUT, cwd=case,
                               env=dict(os.environ, RIVER_DATA=str(self.fx)))
            rc, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, err = None, (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return rc, err, before, snapshot(case), time.monotonic() - t0


def snapshot(folder):
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.stat(p)
            out[os.path.relpath(p, folder)] = (st.st_size, st.st_mtime_ns) if n in filenames else "dir"
    return out


def set_flag(argv, flag, value):
    if flag in argv:
        i = argv.index(flag)
        return argv[:i + 1] + [value] + argv[i + 2:]
    return argv + [flag, value]


def test_no_input_crashes_the_cli(fx, river_bin, tmp_path):
    rng = random.Random(SEED)
    runner = Runner(river_bin, fx, tmp_path)
    failures, cases, t_start = [], 0, time.monotonic()
    # A parameters file for the debug-model base that reads one.
    subprocess.run([str(river_bin), "debug-model", "grad", "--preset", "tiny",
                    runner.spell(("debug-model", "grad"), "--batch-file"), str(fx / "batch.json"),
                    "--out", str(fx / "o.safetensors"),
                    runner.spell(("debug-model", "grad"), "--save-parameters"), str(fx / "sp.safetensors")],
                   check=True, capture_output=True)

    def record(what, argv, rc, err, before, after, seconds, must_succeed=False, misspelt=None, detail=""):
        nonlocal cases
        cases += 1
        cmd = "river " + " ".join(argv) + (f"\n    mutated input: {detail[:600]}" if detail else "")
        tail = err.strip().splitlines()[-3:] if err else []
        if rc is None:
            failures.append(f"[{what}] ran past {CASE_TIMEOUT} s: {cmd}")
        elif rc < 0 or rc >= 128:
            failures.append(f"[{what}] crashed (status {rc}): {cmd}\n    {' | '.join(tail)}")
        elif must_succeed and rc != 0:
            failures.append(f"[{what}] the unmutated base failed ({rc}): {cmd}\n    {' | '.join(tail)}")
        elif rc != 0:
            changed = sorted(k for k, v in after.items() if before.get(k) != v)
            # A run directory is a checkpointed log once training has begun (`--resume` continues it), so
            # train/branch/sweep may leave one that holds metrics; a failure before training leaves nothing.
            if (argv[0] in INCREMENTAL or " ".join(argv[:2]) in INCREMENTAL) and any(k.endswith("metrics.jsonl") for k in changed):
                changed = []
            if changed:
                failures.append(f"[{what}] failed ({rc}) but left output {changed}: {cmd}\n    {' | '.join(tail)}")
            if misspelt and misspelt.split(".")[-1] not in err:
                failures.append(f"[{what}] misspelt key '{misspelt}' not named in the error: {cmd}\n    {' | '.join(tail)}")
        elif misspelt:
            failures.append(f"[{what}] misspelt key '{misspelt}' was accepted (exit 0): {cmd}")

    for base in bases():
        case, sub, argv = runner.prepare(base)
        record("base", argv, *runner.run(case, argv), must_succeed=True)
        for _ in range(MUTATIONS_PER_BASE):
            case, sub, argv = runner.prepare(base)
            choices = [("flag", f) for f in base.get("flags", [])] + [("list", f) for f in base.get("lists", [])]
            choices += [("json", f) for f in base.get("json", [])] + ([("yaml", base["yaml"])] if "yaml" in base else [])
            choices += [("csv", f) for f in base.get("csv", [])] + [("st", f) for f in base.get("st", [])]
            if not choices:
                choices = [("flag", "--no-such-flag")]
            kind, target = rng.choice(choices)
            misspelt, detail = None, ""
            if kind == "flag":
                flag = runner.spell(sub, target)
                argv = set_flag(argv, flag, rng.choice(FLAG_VALUES))
            elif kind == "list":
                argv = set_flag(argv, runner.spell(sub, target), rng.choice(LIST_VALUES + FLAG_VALUES))
            elif kind == "json":
                f = case / target
                keys_checked = target not in ("batch.json", "run/tokenizer.json", "fit.json")
                text, misspelt = mutate_json(f.read_text(), rng, keys_checked)
                f.write_text(text)
                detail = text
            elif kind == "yaml":
                f = case / target
                text, misspelt = mutate_yaml(f.read_text(), rng)
                f.write_text(text)
                detail = text
            elif kind == "csv":
                f = case / target
                detail = mutate_csv(f.read_text(), rng)
                f.write_text(detail)
            else:
                files = sorted(case.glob(target))
                f = rng.choice(files)
                data = mutate_safetensors(f.read_bytes(), rng)
                f.write_bytes(data)
                detail = data[:600].decode("latin-1")
            record(f"{kind} {target}", argv, *runner.run(case, argv), misspelt=misspelt, detail=detail)
            shutil.rmtree(case, ignore_errors=True)

    elapsed = time.monotonic() - t_start
    print(f"fuzzed {cases} invocations in {elapsed:.0f} s")
    assert cases >= 300
    assert not failures, f"{len(failures)} of {cases} fuzzed invocations failed:\n" + "\n".join(failures)


# The crashing inputs of issue 11 ("Inputs still crash the CLI"), each with a word its error must name.
ISSUE_CASES = [
    (["schedule", "--steps", "10", "--peak", "0.1", "--decay", "1e308"], "1e+308"),
    (["schedule", "--steps", "10", "--peak", "0.1", "--warmup", "1e300"], "1e+300"),
    (["schedule", "--kind", "wsds", "--cycles", "5", "--steps", "10", "--peak", "0.1", "--rewarmup", "1e19"], "1e+19"),
    (["branch-plan", "--budgets", "10,20", "--decay", "1e308"], "1e+308"),
    (["spectrum", "--random-symmetric", "9223372036854775807"], "9223372036854775807"),
    (["schedule", "--steps", "9223372036854775807", "--peak", "0.1"], "9223372036854775807"),
    (["schedule", "--steps", "100000000000", "--peak", "0.1"], "100000000000"),
    (["bigram", "generate", "--vocab", "9223372036854775807", "--out", "%g"], "9223372036854775807"),
    (["bigram", "analyze", "--vocab", "4294967296", "--model", "table", "--parameters", "@table.safetensors"],
     "4294967296"),
    (["bigram", "train", "--model", "factorized", "--width", "2147483648", "--steps", "2", "--peak", "0.1",
      "--out", "%t.csv"], "2147483648"),
    (["bigram", "analyze", "--vocab", "4611686018427387904", "--model", "factorized",
      "--parameters", "@fact.safetensors"], "4611686018427387904"),
    (["schedule", "--levanter", "@cycle.yaml"], "cycle_length"),
    (["schedule", "--levanter", "@inf.yaml", "--steps", "10"], "num_train_steps"),
    (["simulate", "--levanter", "@inf.yaml", "--steps", "10"], "num_train_steps"),
    (["eval", "--checkpoint", "@overflow.safetensors", "--text", "@text.txt"], "overflows"),
    (["bigram", "evaluate", "--transitions", "@T.csv", "--model", "table", "--parameters", "@overflow.safetensors"],
     "overflows"),
    (["train", "--config", "@typo.json", "--out", "%run"], "did you mean 'batchSize'"),
    (["train", "--config", "@typo2.json", "--out", "%run"], "schedule.warmpu"),
    (["bigram", "train", "--vocab", "8", "--steps", "3", "--peak", "0.1", "--out", "%train.csv",
      "--save-parameters", "%missing-dir/p.safetensors"], "missing-dir"),
]


@pytest.mark.parametrize("argv,names", ISSUE_CASES, ids=[" ".join(a[:3]) + f" …{n}" for a, n in ISSUE_CASES])
def test_issue_inputs_are_clear_errors(fx, river_bin, tmp_path, argv, names):
    """Each input that crashed the CLI is now an error (exit 1–127) naming the value, with no output left."""
    (fx / "cycle.yaml").write_text("cycle_length: [1e20]\nnum_train_steps: 100\n")
    (fx / "inf.yaml").write_text("num_train_steps: .inf\n")
    (fx / "typo.json").write_text(json.dumps({"batchsize": 4, "schedule": {"warmup": 2}}))
    (fx / "typo2.json").write_text(json.dumps({"batchSize": 4, "schedule": {"warmpu": 2}}))
    h = json.dumps({"W": {"dtype": "F64", "shape": [2147483648, 2147483648], "data_offsets": [0, 8]}}).encode()
    h += b" " * (-len(h) % 8)
    (fx / "overflow.safetensors").write_bytes(struct.pack("<Q", len(h)) + h + bytes(8))
    runner = Runner(river_bin, fx, tmp_path)
    case, sub, args = runner.prepare(dict(argv=argv))
    rc, err, before, after, _ = runner.run(case, args)
    assert rc is not None and 0 < rc < 128, f"status {rc}: river {' '.join(args)}\n{err}"
    assert names in err, f"the error does not name {names!r}:\n{err}"
    changed = sorted(k for k, v in after.items() if before.get(k) != v)
    assert not changed, f"a failed command left {changed}"
