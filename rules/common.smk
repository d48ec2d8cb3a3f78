import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from psp_eval.engine import warm
from psp_eval.governance.blinding import MARKER as BLINDING_MARKER
from psp_eval.data.contract import TABLES
from psp_eval.governance.lock import LOCK_FILE
from psp_eval.engine.paths import SCHEMA, ConfigError, check_config
from psp_eval.data.scope import EXTRA_TABLES, HUB_SHEETS, TRIAL_SCOPE

min_version("9.0")


configfile: "config/config.yaml"


# The config file with any --config overrides, against its schema: one line per bad key
# (Snakemake's validate() would print the whole schema for an unknown key).
try:
    check_config(
        config,
        Path(workflow.basedir) / SCHEMA,
        source="config (config/config.yaml with any --config)",
    )
except ConfigError as error:
    raise WorkflowError(str(error)) from None

TRIAL = config["trial"]
RAW = Path(config["raw_dir"]) / TRIAL
RESULTS = config["results_dir"]
SITE = config["site_dir"]
CLEAN = f"{RESULTS}/{{trial}}/clean"
PARTIALS = sorted(str(p) for p in Path("reports/partials").glob("*.qmd"))
# Config files each notebook reads (through psp_eval.engine.paths): editing one reruns its jobs.
NOTEBOOK_CONFIG = {
    "process": [config["instruments"]],
    "impact": ["config/config.yaml"],
    "cost_benefit": ["config/unit_costs.yaml", "config/deflators.csv"],
    "payment": ["config/payment.yaml"],
    "need": ["config/need.yaml", "config/power.yaml"],
    "monitoring": ["config/monitoring.yaml", "config/config.yaml"],
}
CONFIG_FILES = sorted(
    {"config/config.yaml", config["hubs"], config["instruments"]}.union(
        *NOTEBOOK_CONFIG.values()
    )
)
# What a report is rendered from besides results: not the hub sheet, whose rows reach each
# report through its own notebooks, so one hub's edit rerenders that hub's report only
# (the provenance block still hashes every config file as it is at render time).
REPORT_CONFIG = [path for path in CONFIG_FILES if path != config["hubs"]]
# The SAP lock, once made: every report states whether the plan changed since, so locking
# (or relocking) rerenders them.
SAP_LOCK = [LOCK_FILE] if Path(LOCK_FILE).exists() else []
CONFIG_ARGS = " ".join(f"--config-file {path}" for path in CONFIG_FILES)
# The render command of every report (trial, hub or standalone), from its rule's params.
RENDER_SHELL = (
    "psp-eval render --template {input.template} --qmd {output.qmd}"
    " --html {output.html} --pdf {output.pdf} --engine {params.engine}"
    " --trial {wildcards.trial} --scope {params.scope} --scope-name {params.name:q}"
    " --data-dir {params.raw} {params.configs}{params.blinded} > {log} 2>&1"
)
# Blinded analysis (psp-eval run --blinded): the clean step writes a dummy allocation and the
# reports name the arms A and B (psp_eval.governance.blinding).
BLINDED = bool(config.get("blinded", False))
# The seed of the dummy allocation when the config sets one (else psp-eval clean's default).
SEED_ARG = (
    f" --blinding-seed {config['blinding']['seed']}" if "blinding" in config else ""
)
CLEAN_BLINDING = f" --blinded{SEED_ARG}" if BLINDED else ""

HUBS = pd.read_csv(config["hubs"], sep="\t", dtype=str)
SCOPES = [TRIAL_SCOPE, *HUBS["hub_id"]]
ANALYSES = config["analyses"]
STANDALONE = config["standalone_reports"]
# Analyses that read other analyses' results for the same scope (<scope>/<analysis>/).
NEEDS = {"cost_benefit": ["impact"], "payment": ["process", "impact", "cost_benefit"]}
for analysis in ANALYSES:
    missing = [need for need in NEEDS.get(analysis, []) if need not in ANALYSES]
    if missing:
        raise WorkflowError(
            f"analysis {analysis} needs {', '.join(missing)} in config analyses"
        )
SCOPE_NAMES = {
    TRIAL_SCOPE: "All hubs",
    **dict(zip(HUBS["hub_id"], HUBS["hub_name"])),
}


wildcard_constraints:
    trial="[A-Za-z0-9_-]+",
    scope="|".join(SCOPES),
    analysis="|".join([*ANALYSES, *STANDALONE]),
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


def notebook_inputs(wildcards):
    """What a notebook reads: clean tables; monitoring reads whatever raw tables exist, valid
    or not, because it reports on in-progress data (a missing file is one of its findings).
    """
    if wildcards.analysis == "monitoring":
        raw = [path for path in raw_tables(wildcards).values() if Path(path).exists()]
        return [*raw, config["hubs"], config["instruments"]]
    return clean_tables(wildcards)


# Notebooks that read their scope's rows of the hub sheet (names, recruitment targets).
HUB_SHEET_READERS = ("process", "payment", "need")


def hub_sheet(wildcards):
    """The scope's hub sheet rows, for the notebooks that read them (and only those)."""
    if wildcards.analysis not in HUB_SHEET_READERS:
        return []
    return f"{RESULTS}/{wildcards.trial}/clean/{HUB_SHEETS}/{wildcards.scope}.parquet"


def hub_rows(wildcards):
    """The hub sheet rows of a scope as text: a change to them (only) reruns its jobs."""
    rows = (
        HUBS
        if wildcards.scope == TRIAL_SCOPE
        else HUBS[HUBS["hub_id"] == wildcards.scope]
    )
    return rows.to_csv(sep="\t", index=False)


def upstream_results(wildcards):
    """Results of the analyses this one reads: for its scope, and a hub's payment decision also
    judges effect targets on the trial-wide impact estimates."""
    base = f"{RESULTS}/{wildcards.trial}/{wildcards.scope}"
    upstream = [f"{base}/{need}" for need in NEEDS.get(wildcards.analysis, [])]
    if wildcards.analysis == "payment" and wildcards.scope != TRIAL_SCOPE:
        upstream.append(f"{RESULTS}/{wildcards.trial}/{TRIAL_SCOPE}/impact")
    return upstream


def notebook_config(wildcards):
    """The config files this notebook reads."""
    return NOTEBOOK_CONFIG.get(wildcards.analysis, [])


def scope_results(wildcards):
    """The executed notebooks and output folders that one scope's report embeds."""
    base = f"{RESULTS}/{wildcards.trial}/{wildcards.scope}"
    return {
        **{f"nb_{a}": f"{base}/{a}.ipynb" for a in ANALYSES},
        **{f"out_{a}": f"{base}/{a}" for a in ANALYSES},
    }


def render_blinded(wildcards):
    """The render flag of a blinded run; not for monitoring, which reads the raw data (the
    true arms) and never compares arms, so it reads the same blinded or not."""
    standalone = getattr(wildcards, "report", None)
    return " --blinded" if BLINDED and standalone != "monitoring" else ""


def report_template(wildcards):
    """The trial report for the trial scope, the hub report for each hub."""
    return "reports/trial.qmd" if wildcards.scope == TRIAL_SCOPE else "reports/hub.qmd"


def all_reports(wildcards):
    """HTML and PDF of every scope's report and of every standalone report: what the index links."""
    names = [*SCOPES, *STANDALONE]
    return [f"{SITE}/{TRIAL}/{name}.{ext}" for name in names for ext in ("html", "pdf")]
