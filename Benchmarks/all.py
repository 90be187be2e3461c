"""Every benchmark in one run, with the machine facts the ratios depend on: the README's table is pasted
from this output.

    Benchmarks/run.sh all [--nanogpt DIR] [--multipowerlaw DIR] [--only NAME ...] [--log FILE]

Prints the date (UTC), the CPU model, its cores and SIMD level, the memory, the load average, the OpenBLAS
settings, the Python peers' versions and the sgemm peak (OpenBLAS, n = 2048, 2 threads) measured at the
start and at the end of the run; then runs each benchmark (its own output, with its ratio's spread over
rounds) and ends with a summary of every ratio line. Benchmarks whose peer is a checkout outside this
repository run only when it is given: `--nanogpt DIR` (https://github.com/karpathy/nanoGPT) for
nanogpt_vs_river, `--multipowerlaw DIR` (https://github.com/thu-yao-01-luo/MultiPowerLaw) for
curve_fit_vs_torch. The whole output is also written to --log (default out/benchmarks-DATE.txt).
Absolute figures vary 2-3x between hosts and days; compare the ratios.
"""
import argparse
import datetime
import os
import pathlib
import platform
import re
import subprocess
import sys
import time

from _shared import river_facts, sgemm_peak

REPO = pathlib.Path(__file__).resolve().parents[1]
# (name, arguments, peer option that must be given or None)
BENCHMARKS = [
    ("spectrum_vs_numpy", [], None),
    ("simulate_vs_numpy", ["--repeats", "5"], None),
    # fp32: river on OpenBLAS and on oneDNN (`fp32Matmul`) against PyTorch in every round; 5 rounds, because
    # one slow round on a noisy host moves a 3-round median.
    ("train_vs_torch", ["--rounds", "5"], None),
    # bf16 against PyTorch bf16 autocast. On a CPU with a bf16 matmul unit (AMX or AVX512-BF16) the full
    # comparison (both shapes, idle and loaded); without one, 0.86M only and few steps, because there
    # PyTorch's bf16 step is ~7x its fp32 step (the script prints whether the CPU has one).
    ("train_vs_torch", "bf16", None),
    # bf16 against fp32, 1000 steps of the default model each (~40 min on 2 cores; finished runs are reused).
    ("bf16_vs_fp32", [], None),
    ("hvp_vs_torch", [], None),
    ("bigram_hessian_vs_torch", [], None),
    ("curve_fit_vs_torch", ["--size", "400", "--rounds", "2"], "multipowerlaw"),
    ("nanogpt_vs_river", [], "nanogpt"),
]
SUMMARY = re.compile(r"\bratio\b|\bfaster\b|\bslower\b|\bgoal\b", re.IGNORECASE)


class Tee:
    def __init__(self, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f = path.open("w")

    def __call__(self, line=""):
        print(line, flush=True)
        self.f.write(line + "\n")
        self.f.flush()


BF16_WITH_UNIT = ["--precision", "bf16"]
BF16_WITHOUT_UNIT = ["--precision", "bf16", "--shapes", "small086M", "--steps", "4", "--untimed-steps", "1",
                     "--load", "idle"]


def cpu_facts():
    info = pathlib.Path("/proc/cpuinfo").read_text() if pathlib.Path("/proc/cpuinfo").exists() else ""
    model = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), platform.processor())
    flags = set(next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), []))
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    mem = next((l.split()[1] for l in pathlib.Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")), "0")
    return model, os.cpu_count(), simd, int(mem) / 2**20


def versions():
    out = []
    for mod in ("numpy", "scipy", "torch"):
        try:
            out.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            out.append(f"{mod} missing")
    return ", ".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nanogpt", type=pathlib.Path, help="a nanoGPT checkout (for nanogpt_vs_river)")
    ap.add_argument("--multipowerlaw", type=pathlib.Path, help="a MultiPowerLaw checkout (for curve_fit_vs_torch)")
    ap.add_argument("--only", nargs="*", help="run only these benchmarks")
    ap.add_argument("--log", type=pathlib.Path)
    a = ap.parse_args()
    known = [b[0] for b in BENCHMARKS]
    unknown = [n for n in (a.only or []) if n not in known]
    if unknown:
        ap.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(known)}")
    now = datetime.datetime.now(datetime.timezone.utc)
    log = Tee(a.log or REPO / "out" / f"benchmarks-{now:%Y%m%d-%H%M}.txt")
    river = os.environ.get("RIVER_BIN", str(REPO / ".build" / "release" / "river"))
    model, cores, simd, mem = cpu_facts()
    bf16_unit = "amx_bf16" in simd or "avx512_bf16" in simd
    load = os.getloadavg()
    facts = river_facts(river)  # the build's target CPU and the sgemm peak at the start, in one call
    log(f"# RiverValley benchmarks, {now:%Y-%m-%d %H:%M} UTC")
    log(f"host: {model}, {cores} cores, {'/'.join(simd) or 'no AVX2'}, {mem:.0f} GiB; load average at start "
        f"{' '.join(f'{x:.2f}' for x in load)}; river built for target CPU {facts['target_cpu']}")
    log(f"OpenBLAS: OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} "
        f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT')}; python {platform.python_version()}, {versions()}")
    start_peak = facts["sgemm_peak_gflops"]
    log(f"sgemm peak at start: {start_peak:.0f} GFLOP/s (OpenBLAS, n = 2048, 2 threads)")
    summary = []
    for name, args, peer in BENCHMARKS:
        if a.only and name not in a.only:
            continue
        if args == "bf16":
            args = BF16_WITH_UNIT if bf16_unit else BF16_WITHOUT_UNIT
        log(f"\n## {name}{' ' + ' '.join(args) if args else ''}")
        if peer:
            d = getattr(a, peer)
            if d is None:
                log(f"skipped: needs --{peer} DIR (a checkout of the peer's code)")
                summary.append(f"{name}: skipped (no --{peer})")
                continue
            args = ["--peer", str(d)] + args
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, str(REPO / "Benchmarks" / f"{name}.py")] + args, cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in p.stdout:
            line = line.rstrip("\n")
            log(line)
            if SUMMARY.search(line):
                summary.append(f"{name}: {line.strip()}")
        rc = p.wait()
        log(f"({name}: {time.perf_counter() - t0:.0f} s, exit {rc})")
        if rc != 0:
            summary.append(f"{name}: exit {rc} (a goal not met, or a failure: see its output)")
    end_peak = sgemm_peak(river)
    log(f"\nsgemm peak at end: {end_peak:.0f} GFLOP/s (start {start_peak:.0f})")
    log("\n## summary")
    for s in summary:
        log(s)


if __name__ == "__main__":
    main()
