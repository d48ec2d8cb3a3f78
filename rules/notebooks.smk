rule settings:
    """Write one analysis's settings (or the data steps'): its part of the run's config."""
    output:
        f"{SETTINGS}/{{settings}}.json",
    log:
        "logs/{trial}/settings-{settings}.log",
    priority: settings_priority
    localrule: True
    params:
        values=settings_values,
    run:
        settings.write(output[0], params.values)


rule notebook:
    """Execute one analysis notebook for one scope (the trial or a hub) with papermill."""
    input:
        notebook="notebooks/{analysis}.ipynb",
        tables=notebook_tables,
        hub_sheet=hub_sheet,
        upstream=upstream_results,
        settings=f"{SETTINGS}/{{analysis}}.json",
    output:
        notebook=f"{RESULTS}/{{trial}}/{{scope}}/{{analysis}}.ipynb",
        out_dir=directory(f"{RESULTS}/{{trial}}/{{scope}}/{{analysis}}"),
    log:
        "logs/{trial}/{scope}/{analysis}.log",
    priority: notebook_priority
    group:
        notebook_group
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        # monitoring holds every raw table as text, as clean does
        large_tables=lambda wildcards: (
            holds_large_tables(wildcards)
            if reads(wildcards.analysis)["tables"] == "raw"
            else 0
        ),
    params:
        data_dir=notebook_data_dir,
        hub_sheet=hub_sheet_parameter,
    shell:
        "psp-eval execute {input.notebook} {output.notebook}"
        " -p trial={wildcards.trial} -p scope={wildcards.scope}"
        " -p data_dir={params.data_dir} -p settings={input.settings}{params.hub_sheet}"
        " -p out_dir={output.out_dir} > {log} 2>&1"
