"""scripts/slurm: the job-array script runs a `river sweep` plan's jobs as Slurm would (one task per job,
SLURM_ARRAY_TASK_ID set, in any order), and submit.sh submits the array plus a collect job after it
(checked with a stand-in `sbatch` that records its arguments)."""
import json
import os
import random
import stat
import subprocess

SETTINGS = ["--budgets", "20,40", "--seeds", "0", "--schedules", "wsd,cosine", "--warmup", "4"]


def _fixture(tmp_path):
    words = ["the", "river", "valley", "hill", "loss", "rate", "decay", "stable", "king", "thou"]
    rng = random.Random(3)
    text = " ".join(rng.choice(words) for _ in range(12000))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(text)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({
        "model": {"vocabSize": 256, "contextLength": 16, "width": 16, "layers": 1, "heads": 2},
        "data": {"corpus": str(corpus), "splitBlock": 512}, "batchSize": 4, "evalEvery": 0, "evalWindows": 4}))
    return config


def _env(repo, river_bin):
    env = dict(os.environ, RIVER_ROOT=str(repo), RIVER_BIN=str(river_bin))
    return env


def test_array_tasks_in_reverse_order_then_collect_equal_the_serial_sweep(tmp_path, repo, river, river_bin):
    config = _fixture(tmp_path)
    plan = tmp_path / "plan.jsonl"
    river("sweep", "--out", tmp_path / "planned", "--config", config, *SETTINGS, "--plan", plan, check=True)
    jobs = [json.loads(line) for line in plan.read_text().splitlines()]
    assert len(jobs) == 5 and all(j["command"].endswith(f"--job {j['job']}") for j in jobs)
    # Slurm may start the tasks in any order: the branches (jobs 1, 2) start before their main run (job 0)
    # finishes, wait for it, then run. Start every task at once, last index first.
    env = _env(repo, river_bin)
    procs = []
    for n in reversed(range(len(jobs))):
        procs.append(subprocess.Popen(["bash", str(repo / "scripts/slurm/sweep.sbatch"), str(plan)],
                                      env=dict(env, SLURM_ARRAY_TASK_ID=str(n), RIVER_POLL_SECONDS="1"),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    river("sweep", "--plan", plan, "--collect", check=True)
    # The same thread count per run as the array tasks (sweep.sbatch: SLURM_CPUS_PER_TASK, here 1): a run's
    # bits depend on how many threads split its reductions, not on the order or the process it ran in.
    river("sweep", "--out", tmp_path / "serial", "--config", config, *SETTINGS, "--quiet", check=True,
          env=dict(os.environ, RIVER_THREADS="1", OPENBLAS_NUM_THREADS="1"))
    for table in ["results.csv", "summary.csv", "paired.csv", "curves.csv"]:
        assert (tmp_path / "planned" / table).read_bytes() == (tmp_path / "serial" / table).read_bytes(), table


def test_sbatch_script_refuses_to_run_outside_an_array(tmp_path, repo):
    r = subprocess.run(["bash", str(repo / "scripts/slurm/sweep.sbatch"), str(tmp_path / "p.jsonl")],
                       env={k: v for k, v in os.environ.items() if k != "SLURM_ARRAY_TASK_ID"}, capture_output=True, text=True)
    assert r.returncode != 0 and "SLURM_ARRAY_TASK_ID" in r.stderr


def test_submit_sends_an_array_of_every_job_and_a_collect_job_after_it(tmp_path, repo, river, river_bin):
    config = _fixture(tmp_path)
    plan = tmp_path / "plan.jsonl"
    river("sweep", "--out", tmp_path / "s", "--config", config, *SETTINGS, "--plan", plan, check=True)
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "sbatch.log"
    sbatch = fake / "sbatch"
    sbatch.write_text(f"#!/usr/bin/env bash\necho \"$*\" >> {log}\nn=$(wc -l < {log}); echo \"$((1000 + n))\"\n")
    sbatch.chmod(sbatch.stat().st_mode | stat.S_IEXEC)
    env = dict(_env(repo, river_bin), PATH=f"{fake}:{os.environ['PATH']}")
    r = subprocess.run(["bash", str(repo / "scripts/slurm/submit.sh"), str(plan), "--partition=cpu"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    calls = log.read_text().splitlines()
    assert len(calls) == 2
    assert "--array=0-4%64" in calls[0] and "--partition=cpu" in calls[0] and calls[0].endswith(f"sweep.sbatch {plan}")
    assert "--dependency=afterok:1001" in calls[1] and "--collect" in calls[1] and str(river_bin) in calls[1]
    assert "array job 1001 (5 tasks), collect job 1002" in r.stdout
    missing = subprocess.run(["bash", str(repo / "scripts/slurm/submit.sh"), str(tmp_path / "none.jsonl")], env=env,
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "missing or empty" in missing.stderr
