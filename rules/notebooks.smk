rule notebook:
    """Execute one analysis notebook for one scope (the trial or a hub) with papermill."""
    input:
        notebook="notebooks/{analysis}.ipynb",
        tables=clean_tables,
        upstream=upstream_results,
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
    params:
        clean=lambda wildcards, input: Path(input.tables[0]).parent,
    shell:
        "psp-eval execute {input.notebook} {output.notebook}"
        " -p trial={wildcards.trial} -p scope={wildcards.scope}"
        " -p data_dir={params.clean} -p out_dir={output.out_dir} > {log} 2>&1"
