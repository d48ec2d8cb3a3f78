"""Snakemake's own command line, as `psp-eval run` starts it, without the limit on job starts
that costs a local run its scheduler's time.

Why: Snakemake 9 limits how many jobs start per second (`--max-jobs-per-timespan`, by default
100/1s). While a limit is set, every scheduling round starts a timer that begins another round a
second later, so each job that finishes adds one more round per second for the rest of the run,
and every round checks the size of every ready job's input files. At 50,000 families (30 hubs,
233 jobs) Snakemake made 12,170 rounds and used 216 of the run's 934 CPU seconds on 2 cores.

On this machine `--cores` already bounds how many jobs run, so a local run drops the limit it
did not ask for. A limit given on the command line or in a profile is kept, and so are a
cluster executor's (its queue may need one).

`python -m psp_eval.engine.snakemake_cli ARGS` takes exactly Snakemake's arguments.
"""

from __future__ import annotations

import sys


def only_the_default_limit(parser, args) -> bool:
    """Whether Snakemake would limit job starts only because of its own default: on this
    machine (no executor, or the local one), no limit on the command line or in a profile."""
    if args.executor not in (None, "local") or args.max_jobs_per_second is not None:
        return False
    # where each option's value came from: the command line, a profile or the defaults
    sources = parser.get_source_to_settings_dict()
    return "--max-jobs-per-timespan" in sources.get("defaults", {})


def main(argv: list[str] | None = None) -> None:
    """Snakemake's `main`, with the default limit on job starts dropped for a local run."""
    from snakemake import cli
    from snakemake.exceptions import print_exception

    try:
        parser, args = cli.parse_args(argv)
        if only_the_default_limit(parser, args):
            args.max_jobs_per_timespan = None
        success = cli.args_to_api(args, parser)
    except Exception as error:  # as Snakemake's own main: its message, then exit 1
        print_exception(error)
        sys.exit(1)
    sys.exit(0 if success else 1)


if __name__ == "__main__":
    main()
