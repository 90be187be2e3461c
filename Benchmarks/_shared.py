"""Pieces several benchmarks share (not a benchmark itself: `Benchmarks/run.sh` skips names starting with _)."""
import json
import pathlib
import subprocess

import numpy as np

WORDS = "the river valley hill loss rate decay stable warm king queen thou art more lovely".split()


def river_facts(river, threads=2):
    """`river debug-model bench --sgemm-peak` on one tiny step: its JSON holds `sgemm_peak_gflops` (OpenBLAS
    sgemm at n = 2048 on `threads` threads, measured now) and `target_cpu` (what the build was compiled for)."""
    args = [river, "debug-model", "bench", "--preset", "small086M", "--batch-size", "1", "--steps", "1",
            "--untimed-steps", "0", "--threads", str(threads), "--sgemm-peak"]
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def sgemm_peak(river, threads=2):
    """GFLOP/s of OpenBLAS sgemm at n = 2048 on `threads` threads, measured now by `river debug-model bench`."""
    return river_facts(river, threads)["sgemm_peak_gflops"]


def word_corpus(path, words, seed=0):
    """A byte corpus of `words` random words from WORDS (seeded), written to `path`; returns the path."""
    rng = np.random.default_rng(seed)
    path = pathlib.Path(path)
    path.write_text(" ".join(rng.choice(WORDS, words)))
    return path
