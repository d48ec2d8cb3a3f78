"""The benchmark's need-at-national-scale part, run small: it prints the figure and its goal."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
