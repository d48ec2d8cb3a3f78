"""Figures for the reports, in one visual style: the two arms always in the same colours.

Arm names are not kept here: every figure that names the arms takes them as `labels`
(arm value -> display name), so a blinded run passes "Arm A" and "Arm B"."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no screen needed; notebooks display the saved SVG
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
ARM_COLOURS = {"sffc": "#0072B2", "usual": "#E69F00"}
CATEGORY_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


def figure(width: float = 7.0, height: float = 3.6) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax
