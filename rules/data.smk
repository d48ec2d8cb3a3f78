rule validate:
    """Check every raw table against the data contract; all problems reported at once."""
    input:
        unpack(raw_tables),
        hubs=config["hubs"],
        instruments=config["instruments"],
    output:
        report=f"{RESULTS}/{{trial}}/validation.json",
    log:
        "logs/{trial}/validate.log",
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        raw=RAW,
    shell:
        "psp-eval validate {params.raw} --hubs {input.hubs} --instruments {input.instruments}"
        " --report {output.report} > {log} 2>&1"


rule clean:
    """Write the validated raw tables as typed Parquet."""
    input:
        unpack(raw_tables),
        report=rules.validate.output.report,
        hubs=config["hubs"],
        instruments=config["instruments"],
    output:
        [f"{CLEAN}/{table}.parquet" for table in (*TABLES, "hubs")],
    log:
        "logs/{trial}/clean.log",
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        raw=RAW,
        out=lambda wildcards, output: Path(output[0]).parent,
    shell:
        "psp-eval clean {params.raw} --hubs {input.hubs} --instruments {input.instruments}"
        " --out {params.out} > {log} 2>&1"


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
