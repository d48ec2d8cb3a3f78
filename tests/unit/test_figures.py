"""Figures that print counts: every count goes through disclosure control, is recorded for
the audit, and no label is printed over another."""

from __future__ import annotations

import io
import itertools
import re
import xml.etree.ElementTree as ElementTree

import matplotlib
import pandas as pd
import pytest

from psp_eval.present.figures.impact import km_figure

LABELS = {"sffc": "SFFC", "usual": "Usual care"}
COLOURS = {"sffc": "#0072B2", "usual": "#E69F00"}


def svg_texts(fig) -> list[str]:
    """Every line of text the figure shows, as its SVG holds it (text kept as text)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg")
    root = ElementTree.fromstring(buffer.getvalue())
    lines = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "text":
            lines += "".join(element.itertext()).splitlines()
    return [line.strip() for line in lines if line.strip()]


def small_numbers(lines: list[str]) -> list[str]:
    """Lines holding a whole number of 1-4 on its own (a count a funder must not see)."""
    numbers = re.compile(r"(?<![\d.])\d+(?![\d.])")
    return [line for line in lines if any(1 <= int(n) <= 4 for n in numbers.findall(line))]


def _few_at_risk() -> pd.DataFrame:
    """Two arms of 12 families whose numbers at risk fall to 1-4 after 8 months."""
    months = [0.5, 1, 1.5, 2, 2.5, 3, 5, 6, 9, 10, 13, 24]
    return pd.DataFrame(
        {
            "t": months * 2,
            "e": [1] * 11 + [0] + [1] * 11 + [0],
            "arm": ["sffc"] * 12 + ["usual"] * 12,
        }
    )


def test_km_figure_hides_small_numbers_at_risk_and_keeps_the_time_axis():
    fig = km_figure(_few_at_risk(), "t", "e", "arm", LABELS, COLOURS, ticks=(0, 4, 8, 12, 24))
    time_labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert time_labels == ["0", "4", "8", "12", "24"]  # the time axis is left as it is
    texts = svg_texts(fig)
    for label in time_labels:
        texts.remove(label)
    assert small_numbers(texts) == [], texts  # at risk: 12, 6, then 4, 2 and 1 hidden
    assert texts.count("[c]") == 6


def test_a_figure_writes_the_counts_it_prints_beside_it_and_tags_them(tmp_path):
    import json

    from psp_eval.report.outputs import Outputs

    out = Outputs(tmp_path)
    out.figure("km", km_figure(_few_at_risk(), "t", "e", "arm", LABELS, COLOURS, ticks=(0, 4, 8)))
    record = json.loads((tmp_path / "figures/km.counts.json").read_text())
    assert record["figure"] == "km.svg"
    assert [c["shown"] for c in record["counts"]] == ["12", "6", "[c]"] * 2
    assert record["counts"][1]["what"] == "at risk: SFFC at Months since randomisation = 4"
    svg = (tmp_path / "figures/km.svg").read_text()
    assert re.findall(r'id="(psp-count-\d+)"', svg) == [f"psp-count-{k}" for k in range(1, 7)]
    out.figure("plain", matplotlib.pyplot.figure())
    assert not (tmp_path / "figures/plain.counts.json").exists()


def test_a_figure_refuses_to_print_a_small_count():
    from psp_eval.present import disclosure
    from psp_eval.present.figures import style

    fig, ax = style.figure()
    style.count_text(ax, (0, 0), "[c]", "families")
    style.count_text(ax, (0, 0), 0, "families")
    with pytest.raises(disclosure.SmallCountError, match="families = 3"):
        style.count_text(ax, (1, 0), 3, "families")
    assert [c["shown"] for c in disclosure.printed_counts(fig)] == ["[c]", "0"]


def test_retention_and_likert_figures_record_their_counts():
    from psp_eval.present import disclosure
    from psp_eval.present import process as present_process
    from psp_eval.present.figures import process as process_figures

    spells = pd.DataFrame(
        {"months": [1.0, 2, 3, 5, 8, 9, 12, 14, 15, 20], "ended": [1, 1, 0, 1, 1, 0, 1, 0, 1, 0]}
    ).assign(role="host")
    at_risk = present_process.retention_at(spells, [0, 6, 12], "role")
    fig = process_figures.retention_curves(spells, at_risk, "role")
    printed = [c["shown"] for c in disclosure.printed_counts(fig)]
    assert printed == ["10", "6", "[c]"]
    assert small_numbers(svg_texts(fig)) == []
    likert = pd.DataFrame(
        {"question_id": ["q1"], "timepoint": ["week 8"], "n": [12]}
        | {f"pct_{k}": [20.0] for k in range(1, 6)}
    )
    fig = process_figures.diverging_likert(likert)
    assert disclosure.printed_counts(fig) == [{"what": "responses: q1 at week 8", "shown": "12"}]


def test_money_reads_minus_pounds_and_money_axes_never_collide():
    from psp_eval.present.figures import style
    from psp_eval.present.tables import money

    assert money(-2495.4) == "−£2,495" and money(2495) == "£2,495" and money(-0.2) == "£0"
    assert money(-1234.567, 2) == "−£1,234.57"
    fig, ax = style.figure(3.0, 2.0)  # a narrow axis over a wide range of money
    ax.plot([-48_000, 1_250_000], [0, 1])
    style.money_axis(ax.xaxis)
    fig.canvas.draw()
    labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
    assert all(t.get_text().startswith(("£", "−£")) for t in labels)
    boxes = [t.get_window_extent() for t in labels]
    assert not any(a.overlaps(b) for a, b in itertools.pairwise(boxes)), [
        t.get_text() for t in labels
    ]


def test_funnel_plot_labels_are_not_printed_over_each_other():
    from psp_eval.present.figures.process import funnel_plot

    names = ["Millmouth", "Eastfield", "Northbrook", "Westmere", "Southam", "Kingsholm"]
    points = pd.DataFrame(
        {
            "families": [40, 41, 42, 43, 44, 45],
            "rate": [0.70, 0.705, 0.71, 0.70, 0.705, 0.71],
            "la_name": names,
            "target": 0.7,
            "outside": "",
        }
    )
    curves = pd.DataFrame(
        {"coverage": 0.95, "volume": [5, 50], "low": [0.3, 0.57], "high": [1.0, 0.83]}
    )
    hubs = points.head(2).assign(la_name=["North hub", "South hub"], families=[42, 43])
    fig = funnel_plot(
        points, curves, volume="families", value="rate", label="la_name",
        highlight=pd.Series(True, index=points.index), extra=hubs,
    )  # fmt: skip
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_text() in [*names, "North hub", "South hub"]]
    assert len(labels) == 8
    boxes = [t.get_window_extent() for t in labels]
    overlapping = [
        (labels[i].get_text(), labels[j].get_text())
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if boxes[i].overlaps(boxes[j])
    ]
    assert overlapping == []


def test_acceptability_curve_plots_the_chance_in_percent_on_a_money_axis():
    from psp_eval.present.figures.cost_benefit import acceptability_curve

    curve = pd.DataFrame({"wtp_per_sdq_point": [0.0, 1000.0, 2000.0],
                          "p_cost_effective": [0.1, 0.4, 0.8]})  # fmt: skip
    fig = acceptability_curve(curve)
    ax = fig.axes[0]
    assert ax.lines[0].get_ydata().tolist() == pytest.approx([10.0, 40.0, 80.0])
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(t.startswith("£") for t in labels)
