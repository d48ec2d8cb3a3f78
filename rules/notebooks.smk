rule notebook:
    """Execute one analysis notebook for one scope (the trial or a hub) with papermill."""
    input:
        notebook="notebooks/{analysis}.ipynb",
        tables=notebook_inputs,
        hub_sheet=hub_sheet,
        upstream=upstream_results,
        config=notebook_config,
    output:
        notebook=f"{RESULTS}/{{trial}}/{{scope}}/{{analysis}}.ipynb",
        out_dir=directory(f"{RESULTS}/{{trial}}/{{scope}}/{{analysis}}"),
    log:
        "logs/{trial}/{scope}/{analysis}.log",
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        raw_readers=lambda wildcards: int(wildcards.analysis == "monitoring"),  # reads raw data
    params:
        clean=lambda wildcards: f"{RESULTS}/{wildcards.trial}/clean",
    shell:
        "psp-eval execute {input.notebook} {output.notebook}"
        " -p trial={wildcards.trial} -p scope={wildcards.scope}"
        " -p data_dir={params.clean} -p out_dir={output.out_dir} > {log} 2>&1"
