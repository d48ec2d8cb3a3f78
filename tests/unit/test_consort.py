"""CONSORT counts: every box equals the sum of the boxes it splits into; small boxes hidden."""

from __future__ import annotations

import pandas as pd

from psp_eval.analyses import consort
from psp_eval.present.disclosure import printed_counts
from psp_eval.present.figures.impact import consort_figure
from psp_eval.present.impact import consort_shown


def _tables():
    referrals = pd.DataFrame(
        {
            "family_id": [f"F{i}" for i in range(30)],
            "reason_not_randomised": [None] * 24 + ["declined consent"] * 4 + ["not eligible"] * 2,
        }
    )
    randomisation = pd.DataFrame(
        {"family_id": [f"F{i}" for i in range(24)], "arm": ["sffc", "usual"] * 12}
    )
    support = pd.DataFrame({"family_id": [f"F{i}" for i in range(0, 20, 2)] + ["F1"]})
    withdrawals = pd.DataFrame({"family_id": ["F22", "F23"]})
    outcomes = pd.DataFrame(
        {
            "family_id": [f"F{i}" for i in range(24)],
            "y0": [1.0] * 23 + [None],
            "y8": [1.0] * 18 + [None] * 6,
        }
    )
    return referrals, randomisation, support, withdrawals, outcomes


def test_consort_counts_reconcile():
    flow = consort.consort_counts(*_tables(), "y8", "y0")
    assert flow.check() == []
    c = flow.counts
    assert (c["referred"], c["excluded"], c["randomised"]) == (30, 6, 24)
    assert c["sffc_received"] == 10 and c["usual_not_received"] == 1
    assert c["usual_withdrawn"] == 1 and c["sffc_withdrawn"] == 1 and c["usual_lost"] == 2
    for parent, parts in flow.splits:  # every box equals the sum of its parts
        values = {**flow.counts, **flow.reasons}
        assert values[parent] == sum(values[p] for p in parts)


def test_consort_check_reports_a_broken_split():
    flow = consort.consort_counts(*_tables(), "y8", "y0")
    broken = consort.Consort({**flow.counts, "randomised": 25}, flow.reasons, flow.splits)
    assert any(b.startswith("referred") for b in broken.check())


def test_consort_shown_suppresses_small_boxes_and_their_giveaways():
    flow = consort.consort_counts(*_tables(), "y8", "y0")
    shown = consort_shown(flow)
    assert shown["reason: declined consent"] == "[c]" and shown["reason: not eligible"] == "[c]"
    for parent, parts in flow.splits:  # no split has exactly one hidden box
        assert sum(shown[k] == "[c]" for k in (parent, *parts)) != 1
    fig = consort_figure(flow, {"sffc": "SFFC", "usual": "Services as usual"})
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "[c]" in texts and "n = 30" in texts
    printed = {c["what"]: c["shown"] for c in printed_counts(fig)}
    assert (
        printed["CONSORT: declined consent"] == "[c]"
        and len(printed) == 3 + len(flow.reasons) + 2 * 8
    )
