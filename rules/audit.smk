# The results folders whose tables the reports embed: their CSVs are audited too.
AUDITED_TABLES = [f"{RESULTS}/{TRIAL}/{scope}/{a}" for a, scope in NOTEBOOK_JOBS]


rule audit:
    """Last step: fail on any count of 1-4 people or any identifier in what funders see."""
    input:
        reports=all_reports,
        index=f"{SITE}/index.html",
        tables=AUDITED_TABLES,
        raw=raw_files,
    output:
        f"{RESULTS}/{TRIAL}/audit.json",
    log:
        f"logs/{TRIAL}/audit.log",
    localrule: True
    conda:
        "../envs/psp-eval.yaml"
    threads: workflow.cores  # the last job, alone: its PDFs are read side by side
    params:
        results=lambda wildcards, input: Path(input.tables[0]).parents[1],
        raw=raw_folder,
    shell:
        "psp-eval audit {input.reports} {input.index} --results {params.results}"
        " --data-dir {params.raw} --report {output} --threads {threads} > {log} 2>&1"
