"""The trial definition, as the run's settings hand it to the analyses."""

import pytest

from conftest import shipped_settings
from psp_eval.data.design import DesignError, TrialDesign


def _design(**changes):
    settings = shipped_settings("impact")
    settings["design"] = {**settings["design"], **changes}
    return TrialDesign.from_settings(settings)


def test_the_shipped_design():
    design = _design()
    assert design.arms == ("sffc", "usual")
    assert [o.id for o in design.primary] == ["sdq_total_difficulties", "gad7_total"]
    assert [o.id for o in design.scores] == ["sdq_total_difficulties", "gad7_total", "mspss_total"]
    assert [o.id for o in design.records] == [
        "nights_away",
        "nights_away_episodes",
        "re_referral",
        "care_entry",
    ]
    sdq = design.outcome("sdq_total_difficulties")
    assert (sdq.column, sdq.baseline_column) == (
        "sdq_total_difficulties_week8",
        "sdq_total_difficulties_baseline",
    )
    assert design.follow_up_days == 730
    assert design.when("week8") == "week-8" and design.when("week8", "label") == "Week 8"
    assert design.label("usual") == "Services as usual"


def test_blinded_labels_come_with_the_settings():
    settings = shipped_settings("impact")
    settings["labels"] = {"sffc": "Arm A", "usual": "Arm B"}
    assert TrialDesign.from_settings(settings).label("sffc") == "Arm A"


def test_rules_the_schema_cannot_state():
    outcomes = shipped_settings("impact")["design"]["outcomes"]
    with pytest.raises(DesignError, match="declared twice"):
        _design(outcomes=[outcomes[0], outcomes[0]])
    with pytest.raises(DesignError, match="no outcome has role primary"):
        _design(outcomes=[{**o, "role": "secondary"} for o in outcomes])
    with pytest.raises(DesignError, match="time point 'week12' is not in timepoints"):
        _design(outcomes=[{**outcomes[0], "timepoint": "week12"}])
    with pytest.raises(DesignError, match="no outcome 'happiness'"):
        _design().outcome("happiness")
