rule render:
    """Instantiate the scope's report template and render it to self-contained HTML and PDF."""
    input:
        unpack(scope_results),
        template=report_template,
        partials=PARTIALS,
        config=REPORT_CONFIG,
        sap_lock=SAP_LOCK,
    output:
        qmd=f"{RESULTS}/{{trial}}/{{scope}}/report.qmd",
        html=f"{SITE}/{{trial}}/{{scope}}.html",
        pdf=f"{SITE}/{{trial}}/{{scope}}.pdf",
    log:
        "logs/{trial}/{scope}/render.log",
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        raw=RAW,
        scope=lambda wildcards: wildcards.scope,
        name=lambda wildcards: SCOPE_NAMES[wildcards.scope],
        configs=CONFIG_ARGS,
        engine=config["render"]["engine"],
        blinded=render_blinded,
    shell:
        RENDER_SHELL


rule render_standalone:
    """Render a trial-wide report of its own (need, monitoring) from its notebook."""
    input:
        notebook=f"{RESULTS}/{{trial}}/{TRIAL_SCOPE}/{{report}}.ipynb",
        out_dir=f"{RESULTS}/{{trial}}/{TRIAL_SCOPE}/{{report}}",
        template="reports/{report}.qmd",
        config=REPORT_CONFIG,
        sap_lock=SAP_LOCK,
    output:
        qmd=f"{RESULTS}/{{trial}}/{TRIAL_SCOPE}/{{report}}-report.qmd",
        html=f"{SITE}/{{trial}}/{{report}}.html",
        pdf=f"{SITE}/{{trial}}/{{report}}.pdf",
    log:
        "logs/{trial}/{report}-render.log",
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        raw=RAW,
        scope=TRIAL_SCOPE,
        name=SCOPE_NAMES[TRIAL_SCOPE],
        configs=CONFIG_ARGS,
        engine=config["render"]["engine"],
        blinded=render_blinded,
    shell:
        RENDER_SHELL


rule index:
    """The index page: one link per report, for funders and LAs."""
    input:
        reports=all_reports,
        hubs=config["hubs"],
        data_cut=f"{RESULTS}/{TRIAL}/{TRIAL_SCOPE}/process",
        sap_lock=SAP_LOCK,
    output:
        f"{SITE}/index.html",
    log:
        f"logs/{TRIAL}/index.log",
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        trial=TRIAL,
        raw=RAW,
        results=lambda wildcards, input: Path(input.data_cut).parents[2],
        configs=CONFIG_ARGS,
        standalone=" ".join(f"--report {name}" for name in STANDALONE),
    shell:
        "psp-eval index --trial {params.trial} --hubs {input.hubs} --results-dir {params.results}"
        " --out {output} --title 'psp-eval: {params.trial}' --data-dir {params.raw} {params.configs}"
        " {params.standalone} > {log} 2>&1"
