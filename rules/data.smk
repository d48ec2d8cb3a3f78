rule validate:
    """Check every raw table against the data contract; all problems reported at once."""
    input:
        unpack(raw_tables),
        instruments=config["instruments"],
    output:
        report=f"{RESULTS}/{{trial}}/validation.json",
    log:
        "logs/{trial}/validate.log",
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    resources:
        raw_readers=1,  # holds every raw table as text: see profiles/default
    params:
        raw=RAW,
        # The data are checked against the hub ids only: a change to a hub's name or target
        # must not revalidate (and so rerun) everything, a new or removed hub must.
        hubs=config["hubs"],
        hub_ids=" ".join(HUBS["hub_id"]),
    shell:
        "psp-eval validate {params.raw} --hubs {params.hubs} --instruments {input.instruments}"
        " --report {output.report} > {log} 2>&1"


rule clean:
    """Write the validated raw tables as typed Parquet."""
    input:
        unpack(raw_tables),
        report=rules.validate.output.report,
        instruments=config["instruments"],
    output:
        [f"{CLEAN}/{table}.parquet" for table in TABLES],
        marker=f"{CLEAN}/{BLINDING_MARKER}",
    log:
        "logs/{trial}/clean.log",
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    resources:
        raw_readers=1,
    params:
        raw=RAW,
        out=lambda wildcards, output: Path(output[0]).parent,
        hubs=config["hubs"],
        hub_ids=" ".join(HUBS["hub_id"]),
        blinding=CLEAN_BLINDING,
    shell:
        "psp-eval clean {params.raw} --hubs {params.hubs} --instruments {input.instruments}"
        " --out {params.out}{params.blinding} > {log} 2>&1"


rule score:
    """Score SDQ, GAD-7 and MSPSS from item responses (config/instruments.yaml)."""
    input:
        measures=f"{CLEAN}/measures.parquet",
        instruments=config["instruments"],
    output:
        scores=f"{CLEAN}/scores.parquet",
        outcomes=f"{CLEAN}/outcomes.parquet",
    log:
        "logs/{trial}/score.log",
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        clean=lambda wildcards, input: Path(input.measures).parent,
    shell:
        "psp-eval score {params.clean} --instruments {input.instruments} --out {params.clean}"
        " > {log} 2>&1"


rule hub_sheet:
    """One scope's rows of the hub sheet: its notebooks rerun only when those rows change."""
    output:
        f"{CLEAN}/{HUB_SHEETS}/{{scope}}.parquet",
    log:
        "logs/{trial}/hub_sheet-{scope}.log",
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        hubs=config["hubs"],
        rows=hub_rows,
    shell:
        "psp-eval hub-sheet {params.hubs} --scope {wildcards.scope} --out {output} > {log} 2>&1"
