"""Figures for the reports, one module per analysis, in the style of `style`."""
