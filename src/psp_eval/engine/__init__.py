"""Engine: running the pipeline (Snakemake wrapper, progress, recovery after a kill), executing
notebooks (in-process engine, warm worker), atomic writes and the run's settings."""
