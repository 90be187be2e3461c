"""`river import --from hf-llama` against transformers: a tiny random `LlamaForCausalLM` (tied and untied,
float32 / float16 / bfloat16 weights, one file or shards, grouped-query attention expanded) is saved with
`save_pretrained`, imported, and evaluated with `river eval --tokens`; its logits and per-token losses
equal transformers' to 1e-5 on the same windows (docs/trainer-format.md, "Importing"). Bad inputs are
clear errors that leave no output behind."""
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from safetensors.numpy import load_file, save_file  # noqa: E402

T = 16        # max_position_embeddings = river's context length
VOCAB = 64
TOL = 1e-5


def tiny_llama(tied: bool, kv_heads: int = 4, seed: int = 0):
    """A random 2-layer LLaMA (hidden 32, 4 heads of 8, MLP 48), weights drawn large enough that the
    attention pattern, RoPE and RMSNorm gains all matter (the default init gives near-uniform logits) and
    small enough that float32 rounding stays well under TOL: with std 0.2 the logits reach about 4 and
    transformers' own float32 logits differ from its float64 ones by about 3e-6 (at std 0.4, logits
    about 8, both river and transformers float32 are about 1e-5 from float64)."""
    torch.manual_seed(seed)
    cfg = transformers.LlamaConfig(
        hidden_size=32, num_attention_heads=4, num_key_value_heads=kv_heads, intermediate_size=48,
        num_hidden_layers=2, vocab_size=VOCAB, max_position_embeddings=T, rms_norm_eps=1e-5,
        rope_theta=1000.0, tie_word_embeddings=tied)
    model = transformers.LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.3 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    return model


def reference(model, ids):
    """transformers' logits and per-token losses on river eval's windows: window k holds tokens
    kT … kT+T (T + 1 tokens, consecutive windows overlapping by one) and predicts the last T of them."""
    logits, losses = [], []
    n = len(ids) - 1
    with torch.no_grad():
        for start in range(0, n, T):
            length = min(T, n - start)
            x = torch.tensor(ids[start:start + length], dtype=torch.long)[None]
            y = torch.tensor(ids[start + 1:start + length + 1], dtype=torch.long)
            out = model(x).logits[0].float()
            logits.append(out.numpy())
            losses.append(torch.nn.functional.cross_entropy(out, y, reduction="none").numpy())
    return np.concatenate(logits), np.concatenate(losses)


def river_eval(river, ck, tokens, tmp_path, tag):
    per_token, logits = tmp_path / f"{tag}.csv", tmp_path / f"{tag}-logits.npy"
    proc = river("eval", "--checkpoint", ck, "--tokens", tokens, "--per-token", per_token, "--logits", logits,
                 check=True)
    summary = json.loads(proc.stdout)
    table = np.loadtxt(per_token, delimiter=",", skiprows=1)
    return summary, table, np.load(logits)


@pytest.fixture(scope="module")
def token_ids():
    # 3 full windows of 16 predictions and a tail of 7: 55 tokens.
    return np.random.default_rng(1).integers(0, VOCAB, size=3 * T + 8)


@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_import_matches_transformers(river, tmp_path, token_ids, tied, dtype):
    model = tiny_llama(tied)
    saved = model.to(getattr(torch, dtype))
    # Sharded for bfloat16 (model.safetensors.index.json + 5 shards), one file otherwise.
    saved.save_pretrained(tmp_path / "hf", **({"max_shard_size": "20KB"} if dtype == "bfloat16" else {}))
    assert (tmp_path / "hf" / ("model.safetensors.index.json" if dtype == "bfloat16" else "model.safetensors")).exists()
    out = river("import", "--from", "hf-llama", tmp_path / "hf", "--out", tmp_path / "ck.safetensors", check=True)
    info = json.loads(out.stdout)
    assert info["dtypes"] == [{"float32": "F32", "float16": "F16", "bfloat16": "BF16"}[dtype]]
    assert info["model"]["tied_embeddings"] == tied and info["model"]["context_length"] == T
    assert info["parameters"] == sum(p.numel() for p in model.parameters())

    # The reference is the saved model loaded back in float32 (weights rounded to the saved dtype; the RoPE
    # frequencies recomputed in float32, as they would be by anyone loading the checkpoint).
    ref_model = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "hf", dtype=torch.float32).eval()
    ref_logits, ref_losses = reference(ref_model, token_ids)
    np.save(tmp_path / "ids.npy", token_ids.astype(np.int64))
    summary, table, logits = river_eval(river, tmp_path / "ck.safetensors", tmp_path / "ids.npy", tmp_path, "e")
    assert summary["tokens"] == len(token_ids) - 1 and summary["step"] == 0
    assert summary["bits_per_byte"] is None and summary["bytes"] is None
    assert logits.shape == (len(token_ids) - 1, VOCAB)
    assert np.abs(ref_logits).max() > 1.0  # the check is not vacuous
    np.testing.assert_allclose(logits, ref_logits, rtol=0, atol=TOL)
    # Against the float64 forward pass too: river's float32 error is of the size of transformers' own.
    exact_logits, _ = reference(ref_model.double(), token_ids)
    assert np.abs(logits - exact_logits).max() <= max(2 * np.abs(ref_logits - exact_logits).max(), 2e-6)
    np.testing.assert_array_equal(table[:, 0], np.arange(1, len(token_ids)))
    np.testing.assert_array_equal(table[:, 1], token_ids[1:])
    np.testing.assert_allclose(table[:, 2], ref_losses, rtol=0, atol=TOL)
    assert math.isclose(summary["loss"], float(ref_losses.astype(np.float64).mean()), rel_tol=0, abs_tol=TOL)


def test_token_file_formats_agree(river, tmp_path, token_ids):
    """int32, int64 and uint16 .npy, 2-D (rows concatenated), and raw little-endian int32 give the same result."""
    tiny_llama(tied=False).save_pretrained(tmp_path / "hf")
    ck = tmp_path / "ck.safetensors"
    river("import", "--from", "hf-llama", tmp_path / "hf", "--out", ck, check=True)
    files = {
        "i64.npy": lambda p: np.save(p, token_ids.astype(np.int64)),
        "i32.npy": lambda p: np.save(p, token_ids.astype(np.int32)),
        "2d.npy": lambda p: np.save(p, token_ids.astype(np.int32).reshape(8, -1)),
        "u16.npy": lambda p: np.save(p, token_ids.astype(np.uint16)),
        "raw.bin": lambda p: token_ids.astype("<i4").tofile(p),
    }
    results = []
    for name, write in files.items():
        write(tmp_path / name)
        proc = river("eval", "--checkpoint", ck, "--tokens", tmp_path / name, check=True)
        results.append(json.loads(proc.stdout)["loss"])
    assert len(set(results)) == 1, results


def test_grouped_query_attention_expanded(river, tmp_path, token_ids):
    model = tiny_llama(tied=False, kv_heads=2)
    model.save_pretrained(tmp_path / "hf")
    ck = tmp_path / "ck.safetensors"
    proc = river("import", "--from", "hf-llama", tmp_path / "hf", "--out", ck)
    assert proc.returncode != 0 and not ck.exists()
    assert "num_key_value_heads = 2 differs from num_attention_heads = 4" in proc.stderr and "--expand-gqa" in proc.stderr
    river("import", "--from", "hf-llama", tmp_path / "hf", "--out", ck, "--expand-gqa", check=True)
    ref_logits, ref_losses = reference(model, token_ids)
    np.save(tmp_path / "ids.npy", token_ids)
    _, table, logits = river_eval(river, ck, tmp_path / "ids.npy", tmp_path, "gqa")
    np.testing.assert_allclose(logits, ref_logits, rtol=0, atol=TOL)
    np.testing.assert_allclose(table[:, 2], ref_losses, rtol=0, atol=TOL)


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("hf")
    tiny_llama(tied=False).save_pretrained(d / "good")
    return d


def copy_model(src, dst, config_changes=None, tensors=None):
    """A copy of the saved model with config keys changed (None deletes) and tensors replaced."""
    dst.mkdir()
    cfg = json.loads((src / "config.json").read_text())
    for k, v in (config_changes or {}).items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    (dst / "config.json").write_text(json.dumps(cfg))
    arrays = load_file(str(src / "model.safetensors"))
    for k, v in (tensors or {}).items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    save_file(arrays, str(dst / "model.safetensors"))
    return dst


BAD_IMPORTS = [
    ("missing-config", "DELETE_CONFIG", None, "has no readable config.json"),
    ("missing-tensor", None, {"model.layers.1.mlp.up_proj.weight": None},
     "tensor 'model.layers.1.mlp.up_proj.weight' is missing"),
    ("wrong-shape", None, {"model.layers.0.self_attn.q_proj.weight": np.zeros((32, 31), np.float32)},
     "tensor model.layers.0.self_attn.q_proj.weight has shape [32, 31], config.json implies [32, 32]"),
    ("extra-bias", None, {"model.layers.0.self_attn.q_proj.bias": np.zeros(32, np.float32)},
     "tensor 'model.layers.0.self_attn.q_proj.bias'"),
    ("rope-scaling", {"rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000.0}}, None,
     "'rope_parameters.factor' = 2"),
    ("attention-bias", {"attention_bias": True}, None, "'attention_bias' = true is not supported"),
    ("gelu", {"hidden_act": "gelu"}, None, "'hidden_act' = \"gelu\" is not supported"),
    ("unknown-key", {"sliding_window": 8}, None, "unknown config key 'sliding_window' = 8"),
    ("f64-weights", None, {"model.norm.weight": np.ones(32, np.float64)},
     "tensor model.norm.weight has dtype F64 (allowed: F32, F16, BF16)"),
]


@pytest.mark.parametrize("name,config_changes,tensors,message", BAD_IMPORTS, ids=[b[0] for b in BAD_IMPORTS])
def test_bad_imports_are_clear_errors(river, hf_dir, name, config_changes, tensors, message):
    d = copy_model(hf_dir / "good", hf_dir / name,
                   None if config_changes == "DELETE_CONFIG" else config_changes, tensors)
    if config_changes == "DELETE_CONFIG":
        (d / "config.json").unlink()
    out = d / "out.safetensors"
    proc = river("import", "--from", "hf-llama", d, "--out", out)
    assert proc.returncode not in (0,) and proc.returncode < 128, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert not out.exists()


def test_missing_output_folder(river, hf_dir, tmp_path):
    out = tmp_path / "no-such-folder" / "ck.safetensors"
    proc = river("import", "--from", "hf-llama", hf_dir / "good", "--out", out)
    assert proc.returncode == 1 and "folder" in proc.stderr and "does not exist" in proc.stderr
    assert not out.parent.exists()


def test_ignored_key_and_context_length(river, hf_dir, tmp_path):
    d = copy_model(hf_dir / "good", tmp_path / "m", {"my_note": "hello"})
    river("import", "--from", "hf-llama", d, "--out", tmp_path / "a.safetensors", "--ignore-config-key", "my_note",
          "--context-length", 8, check=True)
    proc = river("import", "--from", "hf-llama", d, "--out", tmp_path / "b.safetensors",
                 "--ignore-config-key", "my_note", "--context-length", 17)
    assert proc.returncode != 0 and "context length 17 must be in 1...16" in proc.stderr


def test_long_context_is_refused_before_allocating(river, hf_dir, tmp_path):
    """An imported model's context defaults to max_position_embeddings; eval refuses one whose activations
    cannot fit (T² attention probabilities) instead of failing to allocate, and names the way out."""
    d = copy_model(hf_dir / "good", tmp_path / "long", {"max_position_embeddings": 1_000_000})
    ck = tmp_path / "long.safetensors"
    river("import", "--from", "hf-llama", d, "--out", ck, check=True)
    ids = np.random.default_rng(2).integers(0, VOCAB, size=1_000_001).astype(np.int32)
    np.save(tmp_path / "ids.npy", ids)
    proc = river("eval", "--checkpoint", ck, "--tokens", tmp_path / "ids.npy")
    assert proc.returncode == 1, proc.stderr
    assert "of activations" in proc.stderr and "--context-length" in proc.stderr
    river("import", "--from", "hf-llama", d, "--out", ck, "--context-length", T, check=True)
    np.save(tmp_path / "short.npy", ids[:40])
    river("eval", "--checkpoint", ck, "--tokens", tmp_path / "short.npy", check=True)


def test_bad_eval_inputs(river, hf_dir, tmp_path):
    ck = tmp_path / "ck.safetensors"
    river("import", "--from", "hf-llama", hf_dir / "good", "--out", ck, check=True)
    np.save(tmp_path / "ids.npy", np.array([1, 2, VOCAB, 3], dtype=np.int32))
    (tmp_path / "text.txt").write_text("hello")
    cases = [
        (["--tokens", tmp_path / "ids.npy"], "token id 64 at index 2 is outside the model's vocabulary 0..<64"),
        (["--tokens", tmp_path / "ids.npy", "--text", tmp_path / "text.txt"], "either --text or --tokens, not both"),
        ([], "--text FILE"),
        (["--text", tmp_path / "text.txt"], "tokenizer is external (hf-llama)"),
        (["--tokens", tmp_path / "missing.npy"], "cannot be read"),
    ]
    for args, message in cases:
        proc = river("eval", "--checkpoint", ck, *args, "--per-token", tmp_path / "pt.csv")
        assert proc.returncode != 0 and proc.returncode < 128, (args, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)
        assert not (tmp_path / "pt.csv").exists()


def test_tokens_equal_text_for_a_river_checkpoint(river, tmp_path):
    """A `river train` checkpoint (byte tokenizer: id = byte) gives the same loss on a text and on its bytes
    as token ids; only the text knows its bytes (bits per byte)."""
    corpus = tmp_path / "corpus.txt"
    words = "the river valley hill loss rate decay stable".split()
    corpus.write_text(" ".join(words[i] for i in np.random.default_rng(0).integers(0, len(words), 3000)))
    cfg = {"model": {"vocabSize": 256, "contextLength": 32, "width": 32, "layers": 1, "heads": 2, "mlpHidden": 64},
           "data": {"corpus": str(corpus), "splitBlock": 512}, "batchSize": 4,
           "schedule": {"kind": "constant", "steps": 4, "peak": 0.003}, "evalEvery": 0, "evalWindows": 2}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    river("train", "--out", tmp_path / "run", "--config", tmp_path / "c.json", "--quiet", check=True)
    ck = tmp_path / "run" / "checkpoints" / "step-000004.safetensors"
    text = json.loads(river("eval", "--checkpoint", ck, "--text", corpus, "--max-bytes", 1000, check=True).stdout)
    np.frombuffer(corpus.read_bytes()[:1000], dtype=np.uint8).astype(np.int32).tofile(tmp_path / "bytes.i32")
    ids = json.loads(river("eval", "--checkpoint", ck, "--tokens", tmp_path / "bytes.i32", check=True).stdout)
    assert ids["loss"] == text["loss"] and ids["tokens"] == text["tokens"] == 999
    assert text["bytes"] == 999 and math.isclose(text["bits_per_byte"], text["loss"] / math.log(2), rel_tol=1e-12)
    assert ids["bits_per_byte"] is None and ids["bytes"] is None
    proc = river("eval", "--checkpoint", ck, "--tokens", tmp_path / "bytes.i32", "--max-bytes", 10)
    assert proc.returncode != 0 and "--max-bytes 10 applies to --text only" in proc.stderr
