"""Governance: the disclosure audit of what funders see, the SAP lock, the reviewer's rerun
(`verify`) and blinded analysis."""
