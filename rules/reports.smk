# The render command of every report (trial, hub or standalone), from its rule's params.
RENDER_SHELL = (
    "psp-eval render --template {input.template} --qmd {output.qmd}"
    " --html {output.html} --pdf {output.pdf} --engine {params.engine}"
    " --trial {wildcards.trial} --scope {params.scope} --scope-name {params.name:q}"
    " {params.analyses} --arm-treated {params.treated:q} --arm-control {params.control:q}"
    " --data-dir {params.raw} {params.configs}{params.blinded} > {log} 2>&1"
)
# What a report is rendered from besides results: the config files (for the provenance
# record). The hub sheet is one of them, but its rows reach each report through its own
# notebooks, so it is an `ancient` input: staged like the others, yet one hub's edit rerenders
# that hub's report only (the provenance block hashes the sheet as it is at render time).
REPORT_CONFIG = [path for path in CONFIG_FILES if path != config["hubs"]]
HUB_SHEET_CONFIG = [ancient(config["hubs"])] if config["hubs"] in CONFIG_FILES else []
TREATED, CONTROL = ARM_LABELS.values()  # the treated arm first
# A funder brief per report scope, when the run has the analyses it quotes.
BRIEF_SCOPES = (
    REPORT_SCOPES if {"impact", "cost_benefit", "payment"} <= set(SECTIONED) else []
)


rule render:
    """Instantiate the scope's report template and render it to self-contained HTML and PDF."""
    input:
        unpack(scope_results),
        raw=raw_files,
        template=report_template,
        project="reports/_quarto.yml",
        partials=report_partials,
        config=REPORT_CONFIG,
        hub_sheet=HUB_SHEET_CONFIG,
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
        raw=raw_folder,
        scope=lambda wildcards: wildcards.scope,
        name=lambda wildcards: SCOPE_NAMES[wildcards.scope],
        analyses=analysis_args(SECTIONED),
        treated=TREATED,
        control=CONTROL,
        configs=lambda wildcards, input: config_args(input.config, input.hub_sheet),
        engine=config["render"]["engine"],
        blinded=render_blinded,
    shell:
        RENDER_SHELL


rule render_standalone:
    """Render a trial-wide report of its own (need, monitoring) from its notebook."""
    input:
        raw=raw_files,
        notebook=f"{RESULTS}/{{trial}}/{TRIAL_SCOPE}/{{report}}.ipynb",
        out_dir=f"{RESULTS}/{{trial}}/{TRIAL_SCOPE}/{{report}}",  # its only results
        template="reports/{report}.qmd",
        project="reports/_quarto.yml",
        config=REPORT_CONFIG,
        hub_sheet=HUB_SHEET_CONFIG,
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
        raw=raw_folder,
        scope=TRIAL_SCOPE,
        name=SCOPE_NAMES[TRIAL_SCOPE],
        analyses=lambda wildcards: analysis_args([wildcards.report]),
        treated=TREATED,
        control=CONTROL,
        configs=lambda wildcards, input: config_args(input.config, input.hub_sheet),
        engine=config["render"]["engine"],
        blinded=render_blinded,
    shell:
        RENDER_SHELL


rule render_brief:
    """Instantiate the two-page funder brief of one scope and render it to HTML and PDF."""
    input:
        unpack(scope_results),
        raw=raw_files,
        template="reports/brief.qmd",
        project="reports/_quarto.yml",
        config=REPORT_CONFIG,
        hub_sheet=HUB_SHEET_CONFIG,
        sap_lock=SAP_LOCK,
    output:
        qmd=f"{RESULTS}/{{trial}}/{{scope}}/brief.qmd",
        html=f"{SITE}/{{trial}}/{{scope}}-brief.html",
        pdf=f"{SITE}/{{trial}}/{{scope}}-brief.pdf",
    log:
        "logs/{trial}/{scope}/render-brief.log",
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        raw=raw_folder,
        scope=lambda wildcards: wildcards.scope,
        name=lambda wildcards: SCOPE_NAMES[wildcards.scope],
        analyses=analysis_args(SECTIONED),
        treated=TREATED,
        control=CONTROL,
        configs=lambda wildcards, input: config_args(input.config, input.hub_sheet),
        engine=config["render"]["engine"],
        blinded=render_blinded,
    shell:
        RENDER_SHELL


rule index:
    """The index page: one link per report, for funders and LAs."""
    input:
        raw=raw_files,
        reports=all_reports,
        briefs=[
            f"{SITE}/{TRIAL}/{s}-brief.{e}"
            for s in BRIEF_SCOPES
            for e in ("html", "pdf")
        ],
        hubs=config["hubs"],
        results=[f"{RESULTS}/{TRIAL}/{TRIAL_SCOPE}/{a}" for a in ANALYSES],
        templates=[f"reports/{name}.qmd" for name in STANDALONE],  # their titles
        config=REPORT_CONFIG,
        sap_lock=SAP_LOCK,
    output:
        f"{SITE}/index.html",
    log:
        f"logs/{TRIAL}/index.log",
    localrule: True
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        trial=TRIAL,
        raw=raw_folder,
        results=lambda wildcards, input: Path(input.results[0]).parents[2],
        hubs=lambda wildcards, input: f"--hubs {input.hubs} " if SECTIONED else "",
        configs=lambda wildcards, input: config_args(input.config, [input.hubs]),
        reports_dir=lambda wildcards, input: (
            f" --reports-dir {Path(input.templates[0]).parent}"
            if input.templates
            else ""
        ),
        reports=" ".join(
            [
                *(["--briefs"] if BRIEF_SCOPES else []),
                *(f"--analysis {a}" for a in SECTIONED),
                *(f"--report {a}" for a in STANDALONE),
            ]
        ),
    shell:
        "psp-eval index --trial {params.trial} {params.hubs}--results-dir {params.results}"
        " --out {output} --title 'psp-eval: {params.trial}' --data-dir {params.raw}"
        " {params.configs} {params.reports}{params.reports_dir} > {log} 2>&1"
