import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from psp_eval.data import contract, plan
from psp_eval.data.contract import TABLES
from psp_eval.data.scope import EXTRA_TABLES, HUB_SHEETS, TRIAL_SCOPE, write_hub_sheet
from psp_eval.engine import settings, warm
from psp_eval.errors import PspEvalError
from psp_eval.governance.blinding import BLINDED_NAMES
from psp_eval.governance.blinding import MARKER as BLINDING_MARKER
from psp_eval.governance.lock import LOCK_FILE

min_version("9.0")


# The run's settings: these files merged in order, then any --configfile, then --config
# (config/README.md). Jobs get their part of it through the settings rule, never from config/.
configfile: "config/config.yaml"
configfile: "config/design.yaml"
configfile: "config/instruments.yaml"
configfile: "config/cost_benefit.yaml"
configfile: "config/contract.yaml"
configfile: "config/payment.yaml"
configfile: "config/need.yaml"
configfile: "config/power.yaml"
configfile: "config/monitoring.yaml"


# Every config file against its schema, and the rules that tie them together, before anything
# runs: one line per problem (Snakemake's validate() would print the whole schema).
try:
    CATALOGUE = plan.load_catalogue(workflow.basedir)
    plan.check_run(
        config,
        workflow.basedir,
        CATALOGUE,
        source="config (config/*.yaml with any --configfile and --config)",
    )
except PspEvalError as error:
    raise WorkflowError(str(error)) from None

TRIAL = config["trial"]
RAW = Path(config["raw_dir"]) / TRIAL
RESULTS = config["results_dir"]
SITE = config["site_dir"]
CLEAN = f"{RESULTS}/{{trial}}/clean"
SETTINGS = f"{RESULTS}/{{trial}}/settings"
# Every config file this run merged (the provenance of each report hashes them).
CONFIG_FILES = sorted(
    {
        *map(str, [*workflow.configfiles, *workflow.overwrite_configfiles]),
        config["hubs"],
    }
)
# The SAP lock, once made: every report states whether the plan changed since, so locking
# (or relocking) rerenders them.
SAP_LOCK = [LOCK_FILE] if Path(LOCK_FILE).exists() else []
# Blinded analysis (psp-eval run --blinded): the clean step writes a dummy allocation and the
# reports name the arms A and B (psp_eval.governance.blinding).
BLINDED = bool(config.get("blinded", False))
ARM_LABELS = plan.arm_labels(config, BLINDED_NAMES if BLINDED else None)
# The seed of the dummy allocation when the config sets one (else psp-eval clean's default).
SEED_ARG = (
    f" --blinding-seed {config['blinding']['seed']}" if "blinding" in config else ""
)
CLEAN_BLINDING = f" --blinded{SEED_ARG}" if BLINDED else ""

HUBS = contract.read_hubs(config["hubs"])
SCOPES = [TRIAL_SCOPE, *HUBS["hub_id"]]
SCOPE_NAMES = {TRIAL_SCOPE: "All hubs", **dict(zip(HUBS["hub_id"], HUBS["hub_name"]))}

# The analyses chosen, in the catalogue's order (config/analyses.yaml): what each reads, its
# scopes and its report sections are declared there once; the rules below derive from it.
ANALYSES = [name for name in CATALOGUE if name in config["analyses"]]
SECTIONED = [a for a in ANALYSES if CATALOGUE[a]["report"] == "sections"]
STANDALONE = [a for a in ANALYSES if CATALOGUE[a]["report"] == "standalone"]
REPORT_SCOPES = SCOPES if SECTIONED else []


def reads(analysis):
    return CATALOGUE[analysis]["reads"]


def analysis_scopes(analysis):
    return SCOPES if CATALOGUE[analysis]["scopes"] == "every" else [TRIAL_SCOPE]


# Per-scope analyses run for the trial and each hub; the others once, for the trial.
NOTEBOOK_JOBS = [(a, s) for a in ANALYSES for s in analysis_scopes(a)]


wildcard_constraints:
    trial="[A-Za-z0-9_-]+",
    scope="|".join(SCOPES),
    analysis="|".join(ANALYSES),
    settings="|".join([*ANALYSES, plan.DATA_SETTINGS]),
    report="|".join(STANDALONE) or "(?!)",


def raw_table(table):
    """A raw table as CSV, or as Parquet when only that exists (the contract accepts both)."""
    parquet = RAW / f"{table}.parquet"
    return str(
        parquet
        if parquet.exists() and not (RAW / f"{table}.csv").exists()
        else RAW / f"{table}.csv"
    )


def raw_tables(wildcards):
    """Every raw table of the data contract, by table name."""
    if not RAW.is_dir():
        raise WorkflowError(
            f"No raw data at {RAW}. For the demo trial: psp-eval synth --out {RAW}"
        )
    return {
        name: raw_table(name)
        for name, table in TABLES.items()
        if table.required or Path(raw_table(name)).exists()
    }


def clean_tables(wildcards):
    """The clean Parquet tables and scores a notebook reads."""
    names = [*TABLES, *EXTRA_TABLES]
    clean = f"{RESULTS}/{wildcards.trial}/clean"
    return [
        *(f"{clean}/{name}.parquet" for name in names),
        f"{clean}/{BLINDING_MARKER}",
    ]


def raw_files(wildcards):
    """Every file of the raw data folder: a report's provenance hashes them all (so a pod or
    a storage plugin must stage them all) and the audit looks for identifiers in them.
    """
    raw_tables(wildcards)  # names a missing folder
    return sorted(str(path) for path in RAW.glob("*.*") if path.is_file())


def config_args(*inputs):
    """The config files a report's provenance hashes, as the command's arguments, from the
    job's inputs (staged, wherever the job runs)."""
    return " ".join(f"--config-file {path}" for paths in inputs for path in paths)


def existing_raw_tables(wildcards):
    """The raw tables there are (monitoring and the reports' provenance take them as they
    are; clean, which validates them all, names any missing one)."""
    return [path for path in raw_tables(wildcards).values() if Path(path).exists()]


def raw_folder(wildcards, input):
    """The raw data folder, from the raw tables a job takes."""
    return Path(input.raw[0]).parent


def notebook_tables(wildcards):
    """What a notebook reads: clean tables, or (monitoring, which reports on in-progress data
    and counts a missing file as a finding) whatever raw tables exist, valid or not."""
    if reads(wildcards.analysis)["tables"] == "raw":
        return existing_raw_tables(wildcards)
    return clean_tables(wildcards)


def notebook_data_dir(wildcards, input):
    """The folder of the tables the notebook reads (clean, or raw for monitoring)."""
    return Path(input.tables[0]).parent


def hub_sheet(wildcards):
    """The scope's hub sheet rows, for the notebooks that read them (and only those)."""
    if not reads(wildcards.analysis).get("hub_sheet"):
        return []
    return f"{RESULTS}/{wildcards.trial}/clean/{HUB_SHEETS}/{wildcards.scope}.parquet"


def hub_sheet_parameter(wildcards, input):
    return f" -p hub_sheet={input.hub_sheet}" if input.hub_sheet else ""


def hub_rows(wildcards):
    """The hub sheet rows of a scope as text: a change to them (only) reruns its jobs."""
    rows = (
        HUBS
        if wildcards.scope == TRIAL_SCOPE
        else HUBS[HUBS["hub_id"] == wildcards.scope]
    )
    return rows.to_csv(sep="\t", index=False)


def upstream_results(wildcards):
    """Results of the analyses this one reads: for its scope, and (trial_results) the
    trial's, which a hub's payment decision judges its effect targets on."""
    base = f"{RESULTS}/{wildcards.trial}/{wildcards.scope}"
    upstream = [
        f"{base}/{need}" for need in reads(wildcards.analysis).get("results", [])
    ]
    if wildcards.scope != TRIAL_SCOPE:
        upstream += [
            f"{RESULTS}/{wildcards.trial}/{TRIAL_SCOPE}/{need}"
            for need in reads(wildcards.analysis).get("trial_results", [])
        ]
    return upstream


def notebook_group(wildcards):
    """A cluster job per scope for the notebooks that read only their own scope (the trial's
    payment, run alone, would make every hub's group wait for the whole trial group)."""
    if reads(wildcards.analysis).get("trial_results"):
        return None
    return f"notebooks-{wildcards.scope}"


# The jobs that hold every raw table in memory (clean, to validate them, and the monitoring
# notebook) take the one `large_tables` slot (profiles/default) only where those tables are
# large: at 50,000 families (151 MB of CSV) monitoring held 0.8 GB; the demo's (4 MB) run
# side by side, with nothing else ready to run beside clean. 50 MB is about 15,000 families.
LARGE_RAW_MB = 50


def holds_large_tables(wildcards):
    """1 (the slot) where the raw tables are large; from the raw folder, which exists before
    the run, so that a dry run shows every job's resources."""
    paths = [Path(path) for path in raw_tables(wildcards).values()]
    size = sum(path.stat().st_size for path in paths if path.exists())
    return int(size >= LARGE_RAW_MB * 2**20)


# The scheduler's order among jobs ready at once (higher first): the data steps, which every
# notebook waits for (their settings job first, or a notebook whose settings were written
# sooner could take the large-table slot before clean); then the trial's analyses whose
# numbers every hub's jobs read (impact: each hub's cost-benefit and payment wait for it);
# then each notebook by the jobs that follow it in a row to its report
# (`plan.steps_to_report`: a hub's impact before its process notebook), so that the run ends
# with reports rendering on both cores, not one hub's chain on one. The raw-data notebook
# (monitoring) after the hubs' notebooks and before the reports: first, being the job of the
# largest input, it would take the large-table slot and hold the data steps back; beside the
# trial's impact notebook, the run's two largest jobs, 50,000 families took 1.5 GB; last, it
# ran alone while the other core idled (7 s). Each part of the audit runs as soon as its
# report is rendered (rules/audit.smk).
DATA_STEPS_PRIORITY = 100
HUBS_READ_IT_PRIORITY = 50
RAW_NOTEBOOK_PRIORITY = 1
AUDIT_PART_PRIORITY = 10


def notebook_priority(wildcards):
    if reads(wildcards.analysis)["tables"] == "raw":
        return RAW_NOTEBOOK_PRIORITY
    read_by_hubs = any(
        wildcards.analysis in reads(other).get("trial_results", [])
        for other in CATALOGUE
    )
    if wildcards.scope == TRIAL_SCOPE and read_by_hubs:
        return HUBS_READ_IT_PRIORITY
    return plan.steps_to_report(CATALOGUE, wildcards.analysis)


def settings_priority(wildcards):
    return DATA_STEPS_PRIORITY if wildcards.settings == plan.DATA_SETTINGS else 0


def settings_values(wildcards):
    """What the settings job writes for one analysis (or the data steps): its part of the
    run's configuration, so that a setting reruns exactly the jobs that read it."""
    if wildcards.settings == plan.DATA_SETTINGS:
        return plan.data_settings(config, list(HUBS["hub_id"]))
    return plan.job_settings(
        config, CATALOGUE, wildcards.settings, root=workflow.basedir, labels=ARM_LABELS
    )


def scope_results(wildcards):
    """The executed notebooks and output folders that one scope's report embeds."""
    base = f"{RESULTS}/{wildcards.trial}/{wildcards.scope}"
    return {
        **{f"nb_{a}": f"{base}/{a}.ipynb" for a in SECTIONED},
        **{f"out_{a}": f"{base}/{a}" for a in SECTIONED},
    }


def report_kind(wildcards):
    return "trial" if wildcards.scope == TRIAL_SCOPE else "hub"


def report_template(wildcards):
    """The trial report for the trial scope, the hub report for each hub."""
    return f"reports/{report_kind(wildcards)}.qmd"


def report_partials(wildcards):
    """The sections of the chosen analyses in one kind of report (and in its summary)."""
    kind = report_kind(wildcards)
    return [
        f"reports/partials/{a}-{part}{kind}.qmd"
        for a in SECTIONED
        for part in ("summary-", "")
    ]


def render_blinded(wildcards):
    """The render flag of a blinded run; not for monitoring, which reads the raw data (the
    true arms) and never compares arms, so it reads the same blinded or not."""
    standalone = getattr(wildcards, "report", None)
    return " --blinded" if BLINDED and standalone != "monitoring" else ""


def all_reports(wildcards):
    """HTML and PDF of every scope's report and of every standalone report: what the index links."""
    names = [*REPORT_SCOPES, *STANDALONE]
    return [f"{SITE}/{TRIAL}/{name}.{ext}" for name in names for ext in ("html", "pdf")]


def analysis_args(names):
    """The render command's arguments naming the analyses whose sections a report holds."""
    return " ".join(f"--analysis {name}" for name in names)


def audited_pages(wildcards):
    """The pages of one part: a scope's report and brief, or a standalone report."""
    names = [wildcards.part]
    if wildcards.part in BRIEF_SCOPES:
        names.append(f"{wildcards.part}-brief")
    return [
        f"{SITE}/{wildcards.trial}/{name}.{ext}"
        for name in names
        for ext in ("html", "pdf")
    ]


def audited_results(wildcards):
    """The results folders whose tables and figure counts one part's pages embed."""
    if wildcards.part in STANDALONE:
        return [f"{RESULTS}/{wildcards.trial}/{TRIAL_SCOPE}/{wildcards.part}"]
    return [f"{RESULTS}/{wildcards.trial}/{wildcards.part}/{a}" for a in SECTIONED]
