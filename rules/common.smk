import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

from psp_eval.contract import TABLES
from psp_eval.scope import EXTRA_TABLES, TRIAL_SCOPE

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "../config/schema/config.schema.yaml")

TRIAL = config["trial"]
RAW = Path(config["raw_dir"]) / TRIAL
RESULTS = config["results_dir"]
SITE = config["site_dir"]
CLEAN = f"{RESULTS}/{{trial}}/clean"
PARTIALS = sorted(str(p) for p in Path("reports/partials").glob("*.qmd"))
CONFIG_FILES = ["config/config.yaml", config["hubs"], config["instruments"]]

HUBS = pd.read_csv(config["hubs"], sep="\t", dtype=str)
SCOPES = [TRIAL_SCOPE, *HUBS["hub_id"]]
ANALYSES = config["analyses"]
STANDALONE = config["standalone_reports"]
# Analyses that read other analyses' results for the same scope (<scope>/<analysis>/).
NEEDS = {"cost_benefit": ["impact"], "contract": ["process", "impact", "cost_benefit"]}
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
    return {table: raw_table(table) for table in TABLES}


def clean_tables(wildcards):
    """The clean Parquet tables, hub sheet and scores a notebook reads."""
    names = [*TABLES, *EXTRA_TABLES]
    return [f"{RESULTS}/{wildcards.trial}/clean/{name}.parquet" for name in names]


def upstream_results(wildcards):
    """Results of the analyses this one reads, for the same scope."""
    base = f"{RESULTS}/{wildcards.trial}/{wildcards.scope}"
    return [f"{base}/{need}" for need in NEEDS.get(wildcards.analysis, [])]


def scope_results(wildcards):
    """The executed notebooks and output folders that one scope's report embeds."""
    base = f"{RESULTS}/{wildcards.trial}/{wildcards.scope}"
    return {
        **{f"nb_{a}": f"{base}/{a}.ipynb" for a in ANALYSES},
        **{f"out_{a}": f"{base}/{a}" for a in ANALYSES},
    }


def report_template(wildcards):
    """The trial report for the trial scope, the hub report for each hub."""
    return "reports/trial.qmd" if wildcards.scope == TRIAL_SCOPE else "reports/hub.qmd"


def all_reports(wildcards):
    """HTML and PDF reports of every scope: what the index links."""
    return [
        f"{SITE}/{TRIAL}/{scope}.{ext}" for scope in SCOPES for ext in ("html", "pdf")
    ]
