"""Our safetensors checkpoints are read unchanged by the reference implementation (safetensors.numpy and
safetensors.torch), their CRC-32 checksums are the documented ones, and a file written by the reference
implementation is read back by `river eval` with the same loss (docs/trainer-format.md)."""
import json
import math
import struct
import zlib

import numpy as np
import pytest

safetensors_numpy = pytest.importorskip("safetensors.numpy")
from safetensors import safe_open  # noqa: E402

TINY = {
    "model": {"vocabSize": 256, "contextLength": 32, "width": 32, "layers": 2, "heads": 2, "mlpHidden": 64},
    "data": {"splitBlock": 512}, "batchSize": 4,
    "schedule": {"kind": "cosine", "steps": 6, "peak": 0.003, "warmup": 2},
    "evalEvery": 3, "evalWindows": 4, "checkpointEvery": 3,
}


def index_checksum(header: dict) -> str:
    """The documented `checksum.index`: one line per tensor in name order, then the metadata lines."""
    lines = []
    for name in sorted(k for k in header if k != "__metadata__"):
        t = header[name]
        b, e = t["data_offsets"]
        lines.append(f"{name}\t{t['dtype']}\t{','.join(map(str, t['shape']))}\t{b}\t{e}\n")
    meta = {k: v for k, v in header["__metadata__"].items() if not k.startswith("checksum.")}
    lines += [f"{k}\t{meta[k]}\n" for k in sorted(meta)]
    return f"{zlib.crc32(''.join(lines).encode()):08x}"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, river):
    d = tmp_path_factory.mktemp("st")
    corpus = d / "corpus.txt"
    words = "the river valley hill loss rate decay stable king thou art of".split()
    rng = np.random.default_rng(0)
    corpus.write_text(" ".join(words[i] for i in rng.integers(0, len(words), 12000)) + "\n")
    cfg = dict(TINY, data=dict(TINY["data"], corpus=str(corpus)))
    (d / "tiny.json").write_text(json.dumps(cfg))
    river("train", "--out", d / "run", "--config", d / "tiny.json", "--quiet", check=True)
    return d


def test_numpy_and_torch_read_checkpoint_unchanged(run_dir):
    ck = run_dir / "run" / "checkpoints" / "step-000006.safetensors"
    arrays = safetensors_numpy.load_file(str(ck))
    cfg = json.loads((run_dir / "run" / "config.json").read_text())
    C, F, V, L = (cfg["model"][k] for k in ("width", "mlpHidden", "vocabSize", "layers"))
    expected = {"tok_embeddings.weight": (V, C), "norm.weight": (C,), "output.weight": (V, C)}
    for i in range(L):
        p = f"layers.{i}."
        expected.update({p + "attention_norm.weight": (C,), p + "ffn_norm.weight": (C,),
                         p + "attention.wq.weight": (C, C), p + "attention.wk.weight": (C, C),
                         p + "attention.wv.weight": (C, C), p + "attention.wo.weight": (C, C),
                         p + "feed_forward.w1.weight": (F, C), p + "feed_forward.w3.weight": (F, C),
                         p + "feed_forward.w2.weight": (C, F)})
    for name, shape in expected.items():
        assert arrays[name].shape == shape and arrays[name].dtype == np.float32
        assert arrays["optimizer.exp_avg." + name].shape == shape
        assert arrays["optimizer.exp_avg_sq." + name].shape == shape
    assert set(arrays) == set(expected) | {"optimizer.exp_avg." + n for n in expected} | \
        {"optimizer.exp_avg_sq." + n for n in expected} | {"train.state"}
    assert arrays["train.state"].dtype == np.int64 and arrays["train.state"][0] == 6
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file as torch_load
    tensors = torch_load(str(ck))
    for name in expected:
        assert torch.equal(tensors[name], torch.from_numpy(arrays[name]))
    with safe_open(str(ck), framework="np") as f:
        meta = f.metadata()
    assert meta["format"] == "river-checkpoint-1" and meta["step"] == "6"
    assert json.loads(meta["config"])["model"] == cfg["model"]


def test_checksums_are_the_documented_crc32(run_dir):
    for ck in sorted((run_dir / "run" / "checkpoints").glob("*.safetensors")):
        blob = ck.read_bytes()
        (n,) = struct.unpack("<Q", blob[:8])
        assert (8 + n) % 8 == 0
        header = json.loads(blob[8:8 + n])
        meta = header["__metadata__"]
        assert meta["checksum.data"] == f"{zlib.crc32(blob[8 + n:]):08x}"
        assert meta["checksum.index"] == index_checksum(header)


def test_file_written_by_reference_implementation_is_read_by_river(run_dir, river, tmp_path):
    ck = run_dir / "run" / "checkpoints" / "step-000006.safetensors"
    arrays = safetensors_numpy.load_file(str(ck))
    with safe_open(str(ck), framework="np") as f:
        meta = {k: v for k, v in f.metadata().items() if not k.startswith("checksum.")}
    foreign = tmp_path / "foreign.safetensors"
    safetensors_numpy.save_file(arrays, str(foreign), metadata=meta)   # no checksums: optional for readers
    text = run_dir / "corpus.txt"
    ours = json.loads(river("eval", "--checkpoint", ck, "--text", text, "--max-bytes", 3000, check=True).stdout)
    theirs = json.loads(river("eval", "--checkpoint", foreign, "--text", text, "--max-bytes", 3000, check=True).stdout)
    assert ours["loss"] == theirs["loss"]
    assert math.isclose(ours["bits_per_byte"], ours["loss"] / math.log(2), rel_tol=1e-12)
    # A corrupted byte in our file is refused with a checksum error naming the file.
    bad = tmp_path / "bad.safetensors"
    blob = bytearray(ck.read_bytes())
    blob[-10] ^= 1
    bad.write_bytes(bytes(blob))
    proc = river("eval", "--checkpoint", bad, "--text", text)
    assert proc.returncode != 0 and "checksum mismatch" in proc.stderr and "bad.safetensors" in proc.stderr
