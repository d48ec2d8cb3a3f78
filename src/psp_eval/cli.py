"""`psp-eval`: thin command-line wrappers over the library, for users and for the Snakemake rules.

Every command turns the library's own errors into a short message on stderr and a non-zero
exit code: a researcher sees what to fix, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

from psp_eval.engine import execution, settings, warm
from psp_eval.errors import PspEvalError

if TYPE_CHECKING:
    from psp_eval.data.contract import ValidationResult

ROOT = Path.cwd()
DEFAULT_HUBS = Path("config/hubs.tsv")
DEFAULT_INSTRUMENTS = Path("config/instruments.yaml")


def _cmd_synth(args: argparse.Namespace) -> int:
    from psp_eval.data import demo as synth

    seed = synth.DEFAULT_SEED if args.seed is None else args.seed
    if args.national_903 is not None:
        las = synth.NATIONAL_N_LAS if args.las is None else args.las
        written = synth.write_national_ssda903(
            args.national_903, seed=seed, n_las=las, n_episodes=args.episodes
        )
        print(f"Wrote national SSDA903 tables ({len(written)} files) to {args.national_903}")
        return 0
    las = 25 if args.las is None else args.las
    written = synth.generate(
        args.out, seed=seed, n_hubs=args.hubs, n_las=las, n_families=args.families
    )
    print(f"Wrote the synthetic trial ({len(written)} files) to {args.out}")
    return 0


def _instruments(args: argparse.Namespace) -> dict:
    """The instruments: from the pipeline's settings file when given, else the config file."""
    from psp_eval.data import scoring

    return scoring.load_instruments(args.settings or args.instruments)


def _hubs(args: argparse.Namespace):
    """The hub sheet the data are checked against: the pipeline's hub ids (settings), the
    --hubs sheet, the data folder's own hubs.tsv, or config/hubs.tsv, in that order."""
    import pandas as pd

    from psp_eval.data import contract

    if args.settings is not None:
        return pd.DataFrame({"hub_id": settings.load_yaml(args.settings, "hub_ids")})
    if args.hubs is not None:
        return contract.read_hubs(args.hubs)
    own = Path(args.data_dir) / "hubs.tsv"
    return contract.read_hubs(own if own.is_file() else DEFAULT_HUBS)


def _validate(args: argparse.Namespace) -> ValidationResult:
    """Validate the data folder, showing warnings (e.g. unknown columns) whatever the outcome."""
    from psp_eval.data import contract

    result = contract.validate_dir(args.data_dir, _hubs(args), _instruments(args))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return result


def _validate_and_report(args: argparse.Namespace) -> ValidationResult:
    """`_validate`, and `--report`'s JSON summary where the data pass; a report on disk always
    means the data passed this latest check (an earlier one's is removed first), so the DAG
    cannot go on from data that fail."""
    from psp_eval.engine import atomic

    if args.report:
        Path(args.report).unlink(missing_ok=True)
    result = _validate(args)
    if args.report and result.ok:
        summary = {
            "data_dir": str(args.data_dir),
            "ok": result.ok,
            "rows": {name: len(frame) for name, frame in sorted(result.tables.items())},
            "errors": [],
            "warnings": [str(p) for p in result.warnings],
        }
        atomic.write_text(Path(args.report), json.dumps(summary, indent=2) + "\n")
    return result


def _cmd_validate(args: argparse.Namespace) -> int:
    result = _validate_and_report(args)
    result.raise_if_errors()
    rows = sum(len(frame) for frame in result.tables.values())
    print(f"{args.data_dir}: {len(result.tables)} tables, {rows:,} rows, all valid")
    return 0


def _cmd_clean(args: argparse.Namespace) -> int:
    from psp_eval.data import contract
    from psp_eval.governance import blinding

    result = _validate_and_report(args)
    result.raise_if_errors()
    tables = dict(result.tables)
    if args.blinded:  # a dummy split: nothing downstream can reveal the true arms
        tables["randomisation"] = blinding.dummy_allocation(
            tables["randomisation"], seed=args.blinding_seed
        )
    contract.write_clean(tables, args.out)
    blinding.write_marker(args.out, args.blinded, args.blinding_seed)
    blinded = f" (BLINDED: dummy allocation, seed {args.blinding_seed})" if args.blinded else ""
    print(f"Wrote {len(tables)} clean tables to {args.out}{blinded}")
    return 0


def _cmd_hub_sheet(args: argparse.Namespace) -> int:
    from psp_eval.data import contract, scope

    hubs = contract.read_hubs(args.hubs)
    rows = scope.write_hub_sheet(hubs, args.scope, args.out)
    print(f"Wrote the hub sheet for {args.scope} to {rows}")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    import pandas as pd

    from psp_eval.data import contract, scoring

    instruments = _instruments(args)

    import pyarrow.parquet as pq

    # the respondent's keys as dictionaries (how Parquet stores them): 3 million rows at
    # 50,000 families, 400 MB as text, 100 MB as codes
    measures = pq.read_table(
        Path(args.clean_dir) / "measures.parquet",
        columns=scoring.MEASURE_COLUMNS,
        read_dictionary=scoring.RESPONDENT,
    ).to_pandas()
    scores = scoring.score(measures, instruments)
    keys = [c for c in scoring.RESPONDENT if isinstance(scores[c].dtype, pd.CategoricalDtype)]
    scores[keys] = scores[keys].astype("string[python]")  # the clean tables' text type
    outcomes = scoring.outcomes_wide(scores, instruments)
    contract.write_clean({"scores": scores, "outcomes": outcomes}, args.out)
    print(f"Scored {len(scores):,} scales for {len(outcomes):,} families into {args.out}")
    return 0


def _provenance(args: argparse.Namespace) -> dict:
    """Hashes of the raw data and config files a report was made from, and the code version."""
    from psp_eval.report import provenance

    data_files = sorted(Path(args.data_dir).glob("*.*"))
    return provenance.collect(data_files, [Path(p) for p in args.config_file], root=ROOT)


def _cmd_render(args: argparse.Namespace) -> int:
    from psp_eval.present.tables import in_text
    from psp_eval.report import index, render

    prov = _provenance(args)
    variables = {
        "trial": args.trial,
        "scope": args.scope,
        "scope_name": args.scope_name,
        "arm_treated": args.arm_treated,
        "arm_control": args.arm_control,
        "arm_control_text": in_text(args.arm_control),
        "data_cut": index.data_cut(Path(args.qmd).parent, args.analysis),
    }
    qmd = render.instantiate(
        args.template,
        args.qmd,
        variables=variables,
        provenance=prov,
        engine=args.engine,
        sections=args.analysis,
    )
    if args.blinded:  # arms read A and B in the text and in every embedded output
        import tempfile

        with tempfile.TemporaryDirectory(prefix="psp-eval-blinded-") as workdir:
            from psp_eval.report.blinded import blind_report

            blinded_qmd = blind_report(qmd, workdir)
            engine = render.render(blinded_qmd, args.html, args.pdf, engine=args.engine)
    else:
        engine = render.render(qmd, args.html, args.pdf, engine=args.engine)
    print(f"Rendered {args.html} and {args.pdf} with the {engine} engine")
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    from psp_eval.data import contract
    from psp_eval.report import index

    hubs = contract.read_hubs(args.hubs) if args.hubs is not None else None
    entries = index.index_entries(
        args.trial,
        hubs,
        args.out.parent,
        args.results_dir,
        analyses=args.analysis,
        standalone=args.report,
        briefs=args.briefs,
        reports_dir=args.reports_dir,
    )
    prov = _provenance(args)
    index.build_index(entries, Path(args.out), title=args.title, provenance=prov)
    print(f"Wrote {args.out}")
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from psp_eval.engine import atomic
    from psp_eval.governance import audit as audit_module

    saved = args.identifiers
    result = audit_module.audit(
        args.site,
        args.results or None,
        args.data_dir,
        relative_to=ROOT,
        threads=args.threads,
        identifiers=audit_module.read_identifiers(saved) if saved else (),
        parts=[audit_module.read_part(path) for path in args.parts],
    )
    if args.part is not None:  # gathered, and failed on, by the final audit
        audit_module.write_part(result, args.part)
        print(
            f"Audited {len(result.files)} files ({len(result.findings)} finding(s)) for {args.part}"
        )
        return 0
    for line in audit_module.iter_report(result):
        print(line)
    report = Path(args.report) if args.report else None
    if not result.ok:
        if report is not None:  # a report exists only for outputs that passed
            report.unlink(missing_ok=True)
        print(
            f"psp-eval audit: {len(result.findings)} finding(s) above must not reach funders:"
            " suppress the count (disclosure.safe_count / count_table) or drop the identifier",
            file=sys.stderr,
        )
        return 1
    if report is not None:
        atomic.write_text(report, json.dumps(result.summary(), indent=2) + "\n")
    print(f"Audited {len(result.files)} files: no count of 1-4 people, no identifier")
    return 0


def _cmd_identifiers(args: argparse.Namespace) -> int:
    from psp_eval.governance import audit as audit_module

    count = audit_module.write_identifiers(args.data_dir, args.out)
    print(f"Wrote {count:,} identifier values of {args.data_dir} to {args.out}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from psp_eval.engine import pipeline
    from psp_eval.governance.lock import warn_if_changed  # standard library only: no pandas

    warn_if_changed(ROOT)  # a loud banner when the analysis plan changed since its lock
    return pipeline.run(
        cores=args.cores,
        config=args.config or [],
        dry_run=args.dry_run,
        extra=args.snakemake_args,
        blinded=args.blinded,
        root=ROOT,
    )


def _cmd_randomise_sequence(args: argparse.Namespace) -> int:
    from psp_eval.analyses import randomisation as randomise_module
    from psp_eval.data import contract

    hubs = contract.read_hubs(args.hubs)["hub_id"].tolist()
    sequence = randomise_module.allocation_sequence(
        hubs, args.per_stratum, seed=args.seed, block_sizes=args.block_sizes
    )
    digest = randomise_module.write_sequence(sequence, args.out, overwrite=args.force)
    worst = int(randomise_module.balance(sequence)["max_imbalance"].max())
    print(
        f"Wrote {len(sequence):,} allocations in {sequence['stratum'].nunique()} strata to {args.out}"
        f" (seed {args.seed}; largest imbalance within a stratum {worst}).\n"
        f"SHA-256 {digest}: record it, and keep the file from recruiters (concealment)."
    )
    return 0


def _cmd_randomise_allocate(args: argparse.Namespace) -> int:
    from datetime import datetime

    from psp_eval.analyses import randomisation as randomise_module

    allocated_at = args.date or datetime.now(UTC).isoformat(timespec="seconds")
    got = randomise_module.allocate(
        args.sequence, args.log, args.family_id, args.hub, args.group, allocated_at=allocated_at
    )
    print(f"{got.family_id}: {got.arm} (stratum {got.stratum}, position {got.position})")
    return 0


def _cmd_power(args: argparse.Namespace) -> int:
    from psp_eval.analyses import power as power_module

    design = power_module.Design(
        sd=args.sd,
        rho=args.rho,
        alpha=args.alpha,
        n_primary=args.outcomes,
        multiplicity=args.multiplicity,
        attrition=args.attrition,
        icc=args.icc,
        cluster_size=args.cluster_size,
    )
    print(
        f"Design: SD {design.sd:g}, baseline correlation {design.rho:g} (variance factor"
        f" {design.variance_factor:.3f}), alpha {design.alpha:g} over {design.n_primary} primary"
        f" outcome(s) ({design.multiplicity}: {design.alpha_per_test:.4g} each), attrition"
        f" {design.attrition:.0%}, design effect {design.design_effect:.3f}"
    )
    if args.effect is not None:
        size = power_module.sample_size(args.effect, design, args.power)
        print(
            f"Effect {args.effect:g} at power {args.power:g}: randomise {size.randomised:,} families"
            f" per arm ({size.total:,} in all); {size.analysed:,} analysed per arm"
            f" ({size.analysed_unclustered:,} without clustering); power {size.power:.3f}"
        )
    if args.n_per_arm is not None:
        mde = power_module.minimum_detectable_effect(args.n_per_arm, design, args.power)
        print(
            f"{args.n_per_arm:g} families randomised per arm: minimum detectable effect {mde:.3f}"
            f" at power {args.power:g}"
        )
    if args.effect is None and args.n_per_arm is None:
        raise power_module.PowerError(
            "give --effect (for a sample size) and/or --n-per-arm (for an MDE)"
        )
    return 0


def _cmd_lock(args: argparse.Namespace) -> int:
    from psp_eval.governance import lock as lock_module

    if not args.check:
        path = lock_module.write_lock(ROOT, note=args.note, by=args.by, force=args.force)
        files = len(json.loads(path.read_text(encoding="utf-8"))["files"])
        print(f"Locked the analysis plan: {files} files hashed into {path}; commit it.")
        return 0
    status = lock_module.check(ROOT)
    if status is None:
        raise lock_module.LockError(
            f"no {lock_module.LOCK_FILE} in {ROOT}: psp-eval lock writes it"
        )
    if status.unchanged:
        print(f"{status.lock_file}: the analysis plan is unchanged since {status.locked_utc}")
        return 0
    rows = status.differences()
    print(f"{status.lock_file}: {len(rows)} file(s) differ from the lock of {status.locked_utc}")
    for what, name in rows:
        print(f"  {what:<8} {name}")
    return 1


def _cmd_verify(args: argparse.Namespace) -> int:
    from psp_eval.governance import verify as verify_module

    report = verify_module.verify(
        args.results_dir,
        project=args.project,
        cores=args.cores,
        config=args.config or [],
        keep=args.keep,
    )
    print(report.text())
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="psp-eval", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def instrument_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--instruments", type=Path, default=DEFAULT_INSTRUMENTS)
        p.add_argument(
            "--settings", type=Path, help="the pipeline's settings file (instead of the others)"
        )

    def data_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("data_dir", type=Path, help="folder of raw tables (CSV or Parquet)")
        p.add_argument(
            "--hubs",
            type=Path,
            help="hub sheet (TSV; default DATA_DIR/hubs.tsv if there is one, else config/hubs.tsv)",
        )
        instrument_options(p)

    p = sub.add_parser("synth", help="write the synthetic demo trial")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="write the demo trial here")
    where.add_argument(
        "--national-903",
        type=Path,
        metavar="OUT_DIR",
        help="instead, write SSDA903 tables for every (synthetic) LA in England here",
    )
    p.add_argument("--seed", type=int, help="random seed (default: the demo's)")
    p.add_argument("--hubs", type=int, default=5)
    p.add_argument("--las", type=int, help="LAs (default: 25, or 153 with --national-903)")
    p.add_argument("--families", type=int, default=1055)
    p.add_argument(
        "--episodes", type=int, default=1_000_000, help="about this many (--national-903)"
    )
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("validate", help="check a data folder against the data contract")
    data_options(p)
    p.add_argument("--report", type=Path, help="write a JSON summary here when the data pass")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("clean", help="validate, then write typed Parquet tables")
    data_options(p)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--report", type=Path, help="write validate's JSON summary here too")
    p.add_argument(
        "--blinded", action="store_true", help="replace the arms by a dummy stratified allocation"
    )
    p.add_argument("--blinding-seed", type=int, default=20261123, help="seed of the dummy split")
    p.set_defaults(func=_cmd_clean)

    p = sub.add_parser("hub-sheet", help="write one scope's rows of the hub sheet (Parquet)")
    p.add_argument("hubs", type=Path, help="hub sheet (TSV)")
    p.add_argument("--scope", required=True, help="'trial' (all hubs) or a hub id")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=_cmd_hub_sheet)

    p = sub.add_parser("score", help="score the instruments of clean measures")
    p.add_argument("clean_dir", type=Path)
    instrument_options(p)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser("execute", help="run a parameterised notebook with papermill")
    execution.add_arguments(p)

    p = sub.add_parser("render", help="instantiate a report template for a scope and render it")
    p.add_argument("--template", type=Path, required=True)
    p.add_argument(
        "--qmd", type=Path, required=True, help="instantiated .qmd (in the scope folder)"
    )
    p.add_argument("--html", type=Path, required=True)
    p.add_argument("--pdf", type=Path, required=True)
    p.add_argument("--trial", required=True)
    p.add_argument("--scope", required=True)
    p.add_argument("--scope-name", required=True)
    p.add_argument(
        "--analysis",
        action="append",
        default=[],
        help="an analysis whose sections the report holds (repeat, in report order)",
    )
    p.add_argument("--arm-treated", required=True, help="the treated arm's name in the report")
    p.add_argument("--arm-control", required=True, help="the control arm's name")
    p.add_argument("--data-dir", type=Path, required=True, help="raw data (for provenance)")
    p.add_argument("--config-file", action="append", default=[], help="config (for provenance)")
    p.add_argument("--engine", choices=("auto", "quarto", "embedded"), default="auto")
    p.add_argument("--blinded", action="store_true", help="the data are a dummy allocation")
    p.set_defaults(func=_cmd_render)

    p = sub.add_parser("index", help="write the index page linking every report")
    p.add_argument("--trial", required=True)
    p.add_argument("--hubs", type=Path, help="hub sheet: the index links the trial and hub reports")
    p.add_argument(
        "--analysis", action="append", default=[], help="an analysis with report sections"
    )
    p.add_argument("--results-dir", type=Path, default=Path("results"))
    p.add_argument(
        "--report", action="append", default=[], help="a standalone report (reports/NAME.qmd)"
    )
    p.add_argument(
        "--reports-dir", type=Path, default=Path("reports"), help="the standalone reports' sources"
    )
    p.add_argument("--out", type=Path, required=True, help="index.html in the site folder")
    p.add_argument("--briefs", action="store_true", help="link each scope's funder brief first")
    p.add_argument("--title", required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--config-file", action="append", default=[])
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("audit", help="fail on small counts or identifiers in funder outputs")
    p.add_argument("site", type=Path, nargs="+", help="site folder(s) or report files (HTML, PDF)")
    p.add_argument(
        "--results",
        type=Path,
        action="append",
        default=[],
        help="the trial's results, or an analysis's (their tables/*.csv and figure counts)",
    )
    p.add_argument("--data-dir", type=Path, help="raw data: its id values are looked for too")
    p.add_argument(
        "--identifiers", type=Path, help="id values saved by `psp-eval identifiers` (the same)"
    )
    p.add_argument("--report", type=Path, help="write a JSON summary here when the audit passes")
    p.add_argument("--threads", type=int, default=1, help="PDFs read at once (pdftotext)")
    p.add_argument(
        "--part",
        type=Path,
        help="save what was read and found here, findings too, and pass: a later audit's --parts",
    )
    p.add_argument(
        "--parts", type=Path, nargs="+", default=[], help="audits saved with --part to include"
    )
    p.set_defaults(func=_cmd_audit)

    p = sub.add_parser("identifiers", help="save the raw data's id values for the audit")
    p.add_argument("--data-dir", type=Path, required=True, help="the raw data folder")
    p.add_argument("--out", type=Path, required=True, help="JSON file to write")
    p.set_defaults(func=_cmd_identifiers)

    p = sub.add_parser("randomise", help="allocation sequence and concealed allocation")
    steps = p.add_subparsers(dest="step", required=True)
    q = steps.add_parser("sequence", help="write a stratified permuted-block sequence")
    q.add_argument("--hubs", type=Path, default=DEFAULT_HUBS, help="hub sheet (TSV)")
    q.add_argument("--per-stratum", type=int, required=True, help="allocations per stratum")
    q.add_argument("--seed", type=int, required=True)
    q.add_argument("--block-sizes", type=int, nargs="+", default=[2, 4])
    q.add_argument("--out", type=Path, required=True)
    q.add_argument("--force", action="store_true", help="replace an existing sequence file")
    q.set_defaults(func=_cmd_randomise_sequence)
    q = steps.add_parser("allocate", help="allocate the next family of a stratum (logged)")
    q.add_argument("family_id")
    q.add_argument("--hub", required=True)
    q.add_argument("--group", required=True, help="referral group: emerging or edge_of_care")
    q.add_argument("--sequence", type=Path, required=True)
    q.add_argument("--log", type=Path, required=True, help="allocation log (CSV, appended)")
    q.add_argument("--date", help="time of allocation (default: now, UTC)")
    q.set_defaults(func=_cmd_randomise_allocate)

    p = sub.add_parser("power", help="sample size or minimum detectable effect (ANCOVA)")
    p.add_argument("--effect", type=float, help="difference in means to detect (outcome units)")
    p.add_argument("--n-per-arm", type=float, help="families randomised per arm")
    p.add_argument("--sd", type=float, default=1.0, help="outcome SD (1: effects are in SDs)")
    p.add_argument("--rho", type=float, default=0.0, help="baseline-outcome correlation")
    p.add_argument("--alpha", type=float, default=0.05, help="two-sided, family-wise")
    p.add_argument("--outcomes", type=int, default=2, help="number of primary outcomes")
    p.add_argument("--multiplicity", choices=("bonferroni", "holm", "none"), default="holm")
    p.add_argument("--attrition", type=float, default=0.0)
    p.add_argument("--icc", type=float, default=0.0, help="intra-hub correlation")
    p.add_argument("--cluster-size", type=float, default=1.0, help="families per hub")
    p.add_argument("--power", type=float, default=0.8)
    p.set_defaults(func=_cmd_power)

    p = sub.add_parser("lock", help="lock the analysis plan (SAP) before unblinding, or check it")
    p.add_argument("--check", action="store_true", help="list files changed since the lock")
    p.add_argument("--note", default="", help="why and when, e.g. 'SAP v1.2, before unblinding'")
    p.add_argument("--by", help="who locks it (default: git user.name, else the login)")
    p.add_argument("--force", action="store_true", help="replace an existing lock")
    p.set_defaults(func=_cmd_lock)

    p = sub.add_parser("verify", help="rerun the pipeline from raw data and diff every number")
    p.add_argument("results_dir", type=Path, help="the results folder to check (results/)")
    p.add_argument("--project", type=Path, default=Path.cwd(), help="project the results are of")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--config", nargs="+", metavar="KEY=VALUE", help="overrides the run used")
    p.add_argument("--keep", action="store_true", help="keep the temporary rerun folder")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("run", help="run the whole pipeline (wraps snakemake)")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--config", nargs="+", metavar="KEY=VALUE", help="override config keys")
    p.add_argument("-n", "--dry-run", action="store_true", help="show what would run")
    p.add_argument(
        "--blinded",
        action="store_true",
        help="dummy allocation, arms named A and B, into results/blinded and reports/_site/blinded",
    )
    p.add_argument(
        "snakemake_args", nargs=argparse.REMAINDER, help="after --, passed on to snakemake"
    )
    p.set_defaults(func=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in warm.DELEGATED:  # in the pipeline's warm worker if there is one
        code = warm.delegate(argv)
        if code is not None:
            return code
    if argv[:1] == ["execute"]:
        return execution.main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (PspEvalError, FileNotFoundError) as err:
        print(f"psp-eval {args.command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
