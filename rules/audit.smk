# The disclosure audit in parts, so that it runs beside the other jobs instead of after them
# (50,000 families: 15 s alone at the end, one core idle): one part per report, as soon as
# that report is rendered, and the final audit only gathers the parts (and reads the index).
AUDIT = f"{RESULTS}/{{trial}}/audit"
AUDIT_PARTS = [*REPORT_SCOPES, *STANDALONE]


wildcard_constraints:
    part="|".join(AUDIT_PARTS) or "(?!)",


rule audit_identifiers:
    """The raw data's identifier values, read once for every part of the audit."""
    input:
        raw=raw_files,
    output:
        f"{AUDIT}/identifiers.json",
    log:
        "logs/{trial}/audit-identifiers.log",
    priority: DATA_STEPS_PRIORITY  # beside clean, which holds the other core
    localrule: True
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        raw=raw_folder,
    shell:
        "psp-eval identifiers --data-dir {params.raw} --out {output} > {log} 2>&1"


rule audit_part:
    """Audit one report's pages and the tables and figure counts they embed; what is found
    is saved, and the final audit fails on it."""
    input:
        pages=audited_pages,
        results=audited_results,
        identifiers=f"{AUDIT}/identifiers.json",
    output:
        f"{AUDIT}/{{part}}.json",
    log:
        "logs/{trial}/audit-{part}.log",
    priority: AUDIT_PART_PRIORITY
    localrule: True  # light: a cluster job would wait longer to start than it runs
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        results=lambda wildcards, input: " ".join(
            f"--results {folder}" for folder in input.results
        ),
    shell:
        "psp-eval audit {input.pages} {params.results} --identifiers {input.identifiers}"
        " --part {output} > {log} 2>&1"


rule audit:
    """Last step: fail on any count of 1-4 people or any identifier in what funders see."""
    input:
        parts=[f"{AUDIT}/{part}.json".format(trial=TRIAL) for part in AUDIT_PARTS],
        index=f"{SITE}/index.html",
        identifiers=f"{AUDIT}/identifiers.json".format(trial=TRIAL),
    output:
        f"{RESULTS}/{TRIAL}/audit.json",
    log:
        f"logs/{TRIAL}/audit.log",
    localrule: True
    conda:
        "../envs/psp-eval.yaml"
    threads: 1
    params:
        parts=lambda wildcards, input: (
            f" --parts {' '.join(input.parts)}" if input.parts else ""
        ),
    shell:
        "psp-eval audit {input.index} --identifiers {input.identifiers}{params.parts}"
        " --report {output} > {log} 2>&1"
