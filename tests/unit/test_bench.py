"""The benchmark's need-at-national-scale part, run small: it prints the figure and its goal."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _benchmark_module():
    """benchmarks/pipeline.py, imported for its helpers (benchmarks/ is not a package)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import pipeline
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return pipeline


def test_need_at_scale_prints_the_time_its_goal_and_peak_memory():
    args = [sys.executable, "benchmarks/pipeline.py", "--only", "need", "--episodes", "5000"]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    line = re.search(
        r"need on ([\d,]+) episodes: [\d.]+ s \(goal ≤ 60 s: met\), peak memory [\d,]+ MB",
        result.stdout,
    )
    assert line, result.stdout
    assert 4_000 <= int(line[1].replace(",", "")) <= 6_000
    assert "Demo trial" not in result.stdout and "Scale:" not in result.stdout  # --only


def test_the_data_steps_time_and_the_process_trees_memory_are_read_as_measured():
    pipeline = _benchmark_module()
    progress = "[ 1/59] validate (4 s)\n[ 2/59] clean (3.5 s)\n[ 3/59] notebook process (a) (7 s)\n"
    assert pipeline._job_seconds(progress, ("validate", "clean")) == 7.5
    assert pipeline._goal(0.25, 0.30) == "goal ≤ 0.3: met"
    assert pipeline._goal(12, 10) == "goal ≤ 10: NOT met"
    # a child holding 100 MB: the tree's peak sees it (the Python interpreter adds its own)
    hold = "x = bytearray(100 * 2**20); import time; time.sleep(0.8)"
    seconds, _, peak_mb, rss_mb = pipeline._timed_tree([sys.executable, "-c", hold], ROOT)
    assert seconds >= 0.8 and 100 <= peak_mb <= rss_mb < 400


def test_the_trees_memory_counts_pages_forked_children_share_once():
    pipeline = _benchmark_module()
    # 200 MB written by a parent, then two forked children that only read it: resident in all
    # three (about 600 MB summed), held once (PSS about 200 MB), as the warm worker's children
    share = (
        'import os, time; x = b"\\1" * (200 * 2**20)\n'
        "for _ in range(2):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(1.5); os._exit(0)\n"
        "os.wait(); os.wait()"
    )
    _, _, pss_mb, rss_mb = pipeline._timed_tree([sys.executable, "-c", share], ROOT)
    assert rss_mb > 2.5 * 200 and 200 <= pss_mb < 350, (pss_mb, rss_mb)


def test_a_pipeline_job_becomes_the_papermill_command_a_naive_user_would_type():
    pipeline = _benchmark_module()
    job = "psp-eval execute notebooks/impact.ipynb results/demo/trial/impact.ipynb -p trial=demo -p data_dir=results/demo/clean"
    args = pipeline._as_papermill(job.split())
    assert args[1:] == ["notebooks/impact.ipynb", "results/demo/trial/impact.ipynb", "--cwd", ".",
                        "-p", "trial", "demo", "-p", "data_dir", "results/demo/clean"]  # fmt: skip
    assert args[0].endswith("papermill")
    assert pipeline.LOG_REDIRECT.sub("", "psp-eval score x > logs/a.log 2>&1") == "psp-eval score x"
