# psp-eval: raw trial data -> validated, clean tables -> scores -> notebooks per scope -> reports.
# Only wiring lives here and in rules/; the logic is in src/psp_eval/ (the `psp-eval` command).


include: "rules/common.smk"


rule all:
    """Every report of the trial and its hubs, the index page that links them, and the
    disclosure audit of them all (the last step)."""
    default_target: True
    input:
        f"{SITE}/index.html",
        f"{RESULTS}/{TRIAL}/audit.json",


include: "rules/data.smk"
include: "rules/notebooks.smk"
include: "rules/reports.smk"
include: "rules/audit.smk"


# Notebook jobs on this machine run in a worker that has imported the analysis libraries once
# (psp_eval.engine.warm); cluster jobs, and any job that finds no worker, run on their own.
onstart:
    if workflow.local_exec:
        warm.start()


onsuccess:
    warm.stop()


onerror:
    warm.stop()
