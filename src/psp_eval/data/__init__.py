"""Data: the data contract (validation of raw tables), reading clean tables by scope, scoring
the questionnaires, and the synthetic demo trial. Knows no analysis."""
