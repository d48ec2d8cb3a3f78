"""Snakemake's log summarised for `psp-eval run`: one line per finished job, not forty.

Snakemake prints every job's inputs, outputs and reasons as it starts; on a 200-job run that
buries the lines a user needs (what is done, what failed and where its log is). `Summary`
reads snakemake's log line by line and keeps those: the plan (its "Job stats" table), a counter
and a duration per finished job, the failed jobs with their log files, and every line it does
not recognise (errors, warnings, tracebacks, the failed jobs' logs) unchanged. The complete
log stays in the file snakemake names at the end of every run (.snakemake/log/...), whose path
`complete_log` then holds.

Standard library only: `psp-eval run` imports no pandas, and rich only for a terminal.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_TIMESTAMP = re.compile(r"\[\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}\]")
_JOB_START = re.compile(r"(?:local)?(?:rule|checkpoint) (\S+):")
_FINISHED = re.compile(r"Finished jobid: (\d+)(?: \(Rule: \S+\))?|Finished job (\d+)\.")
_STEPS = re.compile(r"(\d+) of (\d+) steps \(\d+%\) done")
_ERROR_IN_RULE = re.compile(r"Error in rule (\S+):")
_COMPLETE_LOG = re.compile(r"Complete log\(s\): (.+)")
_STATS_ROW = re.compile(r"(\S+)\s+(\d+)|job\s+count|-+\s+-+")
_FIELD = re.compile(r"\s+(\w+): (.*)")
# Top-level lines that only narrate the run: dropped, with their indented lines (the header's
# fields, a job's inputs and outputs).
_NOISE = re.compile(
    r"SNAKEMAKE|=+|Building DAG of jobs\.\.\.|Using shell: .*|Provided (?:cores|remote nodes"
    r"|resources): .*|Rules claiming more threads will be scaled down\.|Conda environments: "
    r"ignored|Singularity containers: ignored|Assuming unrestricted shared filesystem usage\."
    r"|Using (?:workflow specific )?profiles? .*|Select jobs to execute\.\.\.|Execute \d+ jobs"
    r"\.\.\.|Submitted job \d+ with external jobid .*|Shell command: .*|Elapsed time: .*"
    # the SLURM plugin when no slurm_account is set: sbatch then uses the user's default account
    r"|No SLURM account given, trying to guess\.|Unable to guess SLURM account\. Trying to"
    r" proceed without\."
)


@dataclass
class Job:
    """One job as snakemake announced it."""

    rule: str
    jobid: str = ""
    wildcards: dict[str, str] = field(default_factory=dict)
    log: str = ""
    started: float = 0.0

    @property
    def name(self) -> str:
        """`notebook impact (leeds)`: the rule, its other wildcards, then the scope."""
        values = {k: v for k, v in self.wildcards.items() if k != "trial"}
        scope = values.pop("scope", None)
        return " ".join([self.rule, *values.values()]) + (f" ({scope})" if scope else "")


@dataclass
class Summary:
    """Feed it snakemake's log lines; it calls `say(text, kind)` with what a user should see.

    Kinds: "start" (a job started), "done" (a job finished: counter, name, duration),
    "failed" (a job failed, with its log file) and "pass" (a line as snakemake wrote it).
    """

    say: Callable[[str, str], None]
    clock: Callable[[], float] = time.monotonic
    total: int = 0
    done: int = 0
    jobs: dict[str, Job] = field(default_factory=dict)
    running: dict[str, Job] = field(default_factory=dict)
    failed: list[Job] = field(default_factory=list)
    complete_log: str | None = None
    _block: str = "pass"  # what the current block's indented lines are: pass, drop, job, error
    _job: Job | None = None  # the job whose block is being read
    _rules_left: int = 0  # "=" rules still to come around a failed job's log
    _just_finished: Job | None = None  # said once the step counter has been read

    def feed(self, line: str) -> None:
        """Take one line of snakemake's log (with or without its newline)."""
        line = line.rstrip("\r\n")
        if self._rules_left:  # a failed job's own log, between two rules of "=": verbatim
            self.say(line, "pass")
            if re.fullmatch(r"=+", line):
                self._rules_left -= 1
            return
        if not line.strip():
            return
        if line[0].isspace():
            self._indented(line)
        else:
            self._top_level(line)

    def close(self) -> None:
        """The log ended: say what was still pending."""
        self._end_job_block()
        self._flush_finished()

    def _indented(self, line: str) -> None:
        match = _FIELD.fullmatch(line)
        if self._block == "job" and match:
            key, value = match.groups()
            if key == "jobid":
                self._job.jobid = value
            elif key == "wildcards":
                pairs = (item.split("=", 1) for item in value.split(", ") if "=" in item)
                self._job.wildcards = dict(pairs)
            elif key == "log":
                self._job.log = value
        elif self._block == "error":
            if not (match and match.group(1) in ("input", "output")):  # in the complete log
                self.say(line, "pass")
            if match and match.group(1) == "jobid" and match.group(2) in self.jobs:
                job = self.running.pop(match.group(2), self.jobs[match.group(2)])
                self.failed.append(job)
                where = f" (log: {job.log})" if job.log else ""
                self.say(f"[FAILED] {job.name}{where}", "failed")
        elif self._block == "pass":
            self.say(line, "pass")

    def _top_level(self, line: str) -> None:
        self._end_job_block()
        if not _STEPS.fullmatch(line):
            self._flush_finished()
        if self._block == "stats" and (row := _STATS_ROW.fullmatch(line)):
            if row.group(1) == "total":
                self.total = self.total or int(row.group(2))
            self.say(line, "pass")
            return
        self._block = "drop"
        if match := _JOB_START.fullmatch(line):
            self._job = Job(rule=match.group(1), started=self.clock())
            self._block = "job"
        elif match := _FINISHED.fullmatch(line):
            self._finished(match.group(1) or match.group(2))
        elif match := _STEPS.fullmatch(line):
            self.done, self.total = int(match.group(1)), int(match.group(2))
            self._flush_finished()
        elif match := _COMPLETE_LOG.fullmatch(line):
            self.complete_log = match.group(1).strip()
        elif line == "Job stats:":  # the plan of the run: which jobs, how many of each
            self._block = "stats"
            self.say(line, "pass")
        elif _TIMESTAMP.fullmatch(line) or _NOISE.fullmatch(line):
            pass
        else:  # errors, warnings, anything new: as snakemake wrote it
            self._block = "error" if _ERROR_IN_RULE.fullmatch(line) else "pass"
            self._rules_left = 2 if line.startswith("Logfile ") and line.endswith(":") else 0
            self.say(line, "pass")

    def _end_job_block(self) -> None:
        job, self._job = self._job, None
        if job is None or not job.jobid:
            return
        self.jobs[job.jobid] = job
        if job.rule != "all":  # the target rule runs nothing
            self.running[job.jobid] = job
            self.say(job.name, "start")

    def _finished(self, jobid: str) -> None:
        """Said at the next line, snakemake's `N of M steps done`, for its counter."""
        self._flush_finished()
        self.done += 1
        self._just_finished = self.running.pop(jobid, None)

    def _flush_finished(self) -> None:
        job, self._just_finished = self._just_finished, None
        if job is None:
            return
        width = len(str(self.total))
        counter = f"[{self.done:>{width}}/{self.total}]" if self.total else f"[{self.done}]"
        self.say(f"{counter} {job.name} ({self.clock() - job.started:.0f} s)", "done")


# Arguments after which the user wants snakemake's own, full output.
FULL_OUTPUT_ARGS = frozenset({"-n", "--dry-run", "--dryrun", "--verbose", "--debug"})


def run_summarised(
    cmd: list[str], cwd: Path, env: dict[str, str], *, live: bool | None = None
) -> tuple[int, Summary]:
    """Run snakemake `cmd`, showing its log summarised: a progress bar on a terminal (`live`),
    plain lines otherwise (CI logs, files). Returns its exit code and the summary."""
    if live is None:
        live = sys.stdout.isatty() and sys.stderr.isatty()
    display = _LiveDisplay() if live else _PlainDisplay()
    summary = Summary(say=display.say)
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        errors="replace", bufsize=1,
    )  # fmt: skip
    try:
        for line in proc.stderr:
            summary.feed(line)
            display.update(summary)
        summary.close()
    except KeyboardInterrupt:  # snakemake got the same Ctrl-C: let it stop its jobs
        display.stop()
        for line in proc.stderr:  # still read, or it blocks on a full pipe
            sys.stderr.write(line)
    finally:
        display.stop()
        returncode = proc.wait()
    return returncode, summary


class _PlainDisplay:
    """Finished and failed jobs on stdout; snakemake's own lines on stderr."""

    def say(self, text: str, kind: str) -> None:
        if kind != "start":
            print(text, file=sys.stderr if kind == "pass" else sys.stdout, flush=True)

    def update(self, summary: Summary) -> None:
        pass

    def stop(self) -> None:
        pass


class _LiveDisplay(_PlainDisplay):
    """A rich progress bar under the finished jobs, naming the running ones. rich is
    imported when the first job starts, so a run with nothing to do never loads it."""

    def __init__(self) -> None:
        self._progress = None
        self._task = None

    def say(self, text: str, kind: str) -> None:
        if kind == "start" and self._progress is None:
            self._start()
        if self._progress is None:
            super().say(text, kind)
        elif kind != "start":
            style = "bold red" if kind == "failed" else "green" if kind == "done" else None
            self._progress.console.print(
                text, style=style, markup=False, highlight=False, soft_wrap=True
            )

    def update(self, summary: Summary) -> None:
        if self._progress is not None:
            running = ", ".join(job.name for job in summary.running.values())
            self._progress.update(
                self._task,
                total=summary.total or None,
                completed=summary.done,
                description=running[:80] + ("…" if len(running) > 80 else ""),
            )

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _start(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            transient=True,
        )
        self._task = self._progress.add_task("", total=None)
        self._progress.start()
