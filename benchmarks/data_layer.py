"""The data layer before and after a change, as ratios measured in one session.

    .venv/bin/python benchmarks/data_layer.py --baseline DIR [--families 50000] [--rounds 3]

DIR is another checkout of psp-eval, e.g. `git worktree add /tmp/before <commit>`: its src/ is
put first on PYTHONPATH for the "before" runs, this checkout's for the "after" runs. Makes a
synthetic trial of --families families and the national SSDA903 extract (about a million
episodes), then runs each step in a fresh process, before and after in turn (the order swapped
every round):
  - `psp-eval validate` and `psp-eval clean` on the trial, as the data rules run them;
  - the need notebook's calls on the clean national extract (national_need of each side's
    own benchmarks/pipeline.py), with that process's peak memory.
Prints the median seconds of each, and after/before. Not a test, and no goal here: the machine
is shared and noisy, so read the ratios (the goals are `make bench`'s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTRUMENTS = ROOT / "config" / "instruments.yaml"
sys.path.insert(0, str(Path(__file__).parent))
STEPS = ("validate", "clean", "need")
CLI = "import sys; from psp_eval.cli import main; sys.exit(main(sys.argv[1:]))"
# The need calls as each side's own benchmarks/pipeline.py makes them, with that process's
# peak memory as VmHWM (ru_maxrss would carry over this benchmark's own memory).
NEED = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); from pipeline import national_need;"
    " seconds, _ = national_need(sys.argv[2]);"
    " hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'));"
    " print(json.dumps([seconds, hwm / 1024]))"
)
BENCHMARKS = "{benchmarks}"  # in a command: the benchmarks folder of the side that runs it


def _run(args: list[str], src: Path) -> tuple[float, str]:
    """Seconds and stdout of a fresh Python process that imports psp_eval from `src`."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="checkout to compare with")
    parser.add_argument("--families", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=STEPS, action="append", help="this step only")
    args = parser.parse_args()
    import pipeline  # this folder's benchmark: the trial and the national extract

    sources = {"before": args.baseline.resolve() / "src", "after": ROOT / "src"}
    with tempfile.TemporaryDirectory(prefix="psp-data-bench-") as tmp:
        tmp = Path(tmp)
        only = args.only or STEPS
        raw, national = tmp / "trial", tmp / "national" / "clean"
        if "validate" in only or "clean" in only:
            pipeline.generate(raw, n_hubs=30, n_las=150, n_families=args.families)
        if "need" in only:
            pipeline.national_clean(national.parent, pipeline.NATIONAL_EPISODES)
        data = ["--hubs", str(raw / "hubs.tsv"), "--instruments", str(INSTRUMENTS)]
        steps = {
            "validate": ["-c", CLI, "validate", str(raw), *data],
            "clean": ["-c", CLI, "clean", str(raw), *data, "--out", str(tmp / "clean")],
            "need": ["-c", NEED, BENCHMARKS, str(national)],
        }
        steps = {step: command for step, command in steps.items() if step in only}
        seconds = {(step, side): [] for step in steps for side in sources}
        peak_mb = {side: [] for side in sources}
        for round_ in range(args.rounds):
            for side in sources if round_ % 2 == 0 else reversed(sources):
                for step, command in steps.items():
                    here = str(sources[side].parent / "benchmarks")
                    took, out = _run([a.replace(BENCHMARKS, here) for a in command], sources[side])
                    seconds[step, side].append(took)
                    if step == "need":
                        peak_mb[side].append(json.loads(out.splitlines()[-1])[1])
    print(f"Data layer, {args.families:,} families and the national extract, median of "
          f"{args.rounds} fresh processes each (before: {args.baseline})")  # fmt: skip
    print(f"  {'step':<22} {'before s':>9} {'after s':>9} {'after/before':>13}   every run")
    for step in steps:
        before, after = (statistics.median(seconds[step, side]) for side in sources)
        runs = " / ".join(" ".join(f"{s:.1f}" for s in seconds[step, side]) for side in sources)
        print(f"  {step:<22} {before:9.1f} {after:9.1f} {after / before:13.2f}   {runs}")
    if {"validate", "clean"} <= set(steps):
        before, after = (
            sum(statistics.median(seconds[step, side]) for step in ("validate", "clean"))
            for side in sources
        )
        print(f"  {'validate + clean':<22} {before:9.1f} {after:9.1f} {after / before:13.2f}")
    if "need" in steps:
        before, after = (statistics.median(peak_mb[side]) for side in sources)
        runs = " / ".join(" ".join(f"{m:.0f}" for m in peak_mb[side]) for side in sources)
        print(
            f"  {'need peak memory MB':<22} {before:9.0f} {after:9.0f} {after / before:13.2f}   {runs}"
        )


if __name__ == "__main__":
    main()
