rule clean:
    """Check every raw table against the data contract (all problems reported at once) and
    write them as typed Parquet, with the validation report: one reading of the raw data.
    """
    input:
        unpack(raw_tables),
        settings=f"{SETTINGS}/{plan.DATA_SETTINGS}.json",
    output:
        [f"{CLEAN}/{table}.parquet" for table in TABLES],
        marker=f"{CLEAN}/{BLINDING_MARKER}",
        report=f"{RESULTS}/{{trial}}/validation.json",
    log:
        "logs/{trial}/clean.log",
    priority: DATA_STEPS_PRIORITY
    group:
        "data"  # one cluster job: clean and score run in a row
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    resources:
        large_tables=holds_large_tables,  # every raw table as text: see profiles/default
    params:
        raw=lambda wildcards, input: Path(input.referrals).parent,
        out=lambda wildcards, output: Path(output[0]).parent,
        blinding=CLEAN_BLINDING,
    shell:
        "psp-eval clean {params.raw} --settings {input.settings}"
        " --out {params.out} --report {output.report}{params.blinding} > {log} 2>&1"


rule score:
    """Score the questionnaires (SDQ, GAD-7, MSPSS) from item responses."""
    input:
        measures=f"{CLEAN}/measures.parquet",
        settings=f"{SETTINGS}/{plan.DATA_SETTINGS}.json",
    output:
        scores=f"{CLEAN}/scores.parquet",
        outcomes=f"{CLEAN}/outcomes.parquet",
    log:
        "logs/{trial}/score.log",
    priority: DATA_STEPS_PRIORITY
    group:
        "data"
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    resources:
        large_tables=1,  # every item response: see profiles/default
    params:
        clean=lambda wildcards, input: Path(input.measures).parent,
        out=lambda wildcards, output: Path(output.scores).parent,
    shell:
        "psp-eval score {params.clean} --settings {input.settings} --out {params.out}"
        " > {log} 2>&1"


rule hub_sheet:
    """One scope's rows of the hub sheet: its notebooks rerun only when those rows change."""
    output:
        f"{CLEAN}/{HUB_SHEETS}/{{scope}}.parquet",
    log:
        "logs/{trial}/hub_sheet-{scope}.log",
    localrule: True
    params:
        rows=hub_rows,
    run:
        write_hub_sheet(HUBS, wildcards.scope, output[0])
