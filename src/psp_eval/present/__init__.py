"""Presentation: disclosure control, report tables (interval and p-value text, labels, "not
estimable"), and figures in one visual style. Turns analysis results into what readers see."""
