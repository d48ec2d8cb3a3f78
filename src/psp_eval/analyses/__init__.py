"""Analyses: the statistics and models behind each report (process, impact, survival,
cost-benefit, need, power, randomisation, the PSP payment decision, monitoring). DataFrames in,
tidy results out; no formatting, no rendering, no command line and no demo truth."""
