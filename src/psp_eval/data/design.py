"""The trial definition: arms, stratification factors, subgroups and outcomes, as config declares
them (config/design.yaml, handed to each job in its settings).

Why here: the impact, cost-benefit and payment analyses and the report texts all name the same
outcomes; reading them from one declaration means another PSP with other instruments changes
config, not code. Column names follow the scored tables: a questionnaire outcome's week-8
column is `<instrument>_<score>_<timepoint>` (see `psp_eval.data.scoring.outcomes_wide`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from psp_eval.errors import PspEvalError


class DesignError(PspEvalError, ValueError):
    """The trial definition does not fit together (e.g. an outcome id that is not its score)."""


@dataclass(frozen=True)
class Arm:
    value: str  # as the randomisation table holds it
    label: str  # as reports name it


@dataclass(frozen=True)
class Outcome:
    """One outcome of the trial: a questionnaire score, or an LA-record outcome analysed as a
    rate, a risk and/or the time to its first event."""

    id: str
    role: str  # primary | secondary
    label: str
    short: str = ""
    theme: str = ""
    instrument: str | None = None
    score: str | None = None
    timepoint: str | None = None
    baseline: str | None = None
    units: str = ""
    range: str = ""
    better: str = "lower"  # lower | higher
    decimals: int = 2
    rate: Mapping[str, str] | None = None  # count column, what it counts per year
    risk: Mapping[str, str] | None = None  # event column
    time_to_first: Mapping[str, str] | None = None  # duration and event columns, label

    @property
    def is_score(self) -> bool:
        return self.instrument is not None

    @property
    def column(self) -> str:
        """The score's column at the outcome's time point (questionnaire outcomes)."""
        return f"{self.id}_{self.timepoint}"

    @property
    def baseline_column(self) -> str:
        return f"{self.id}_{self.baseline}"

    def column_at(self, timepoint: str) -> str:
        return f"{self.id}_{timepoint}"


@dataclass(frozen=True)
class TrialDesign:
    treated: Arm
    control: Arm
    strata: tuple[str, ...]
    follow_up_months: float
    subgroups: Mapping[str, str]
    age_bands: tuple[float, ...]
    timepoints: Mapping[str, Mapping[str, str]]
    outcomes: tuple[Outcome, ...]
    labels: Mapping[str, str] = field(default_factory=dict)  # arm value -> name shown

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> TrialDesign:
        """The design of a job's settings (`design`, and the run's arm `labels`, which read
        "Arm A" and "Arm B" in a blinded run)."""
        spec = settings["design"]
        arms = spec["arms"]
        treated, control = Arm(**arms["treated"]), Arm(**arms["control"])
        labels = dict(
            settings.get("labels") or {treated.value: treated.label, control.value: control.label}
        )
        outcomes = tuple(Outcome(**entry) for entry in spec["outcomes"])
        design = cls(
            treated=treated,
            control=control,
            strata=tuple(spec["strata"]),
            follow_up_months=float(spec["follow_up_months"]),
            subgroups=dict(spec["subgroups"]),
            age_bands=tuple(spec["age_bands"]),
            timepoints=dict(spec["timepoints"]),
            outcomes=outcomes,
            labels=labels,
        )
        design.check()
        return design

    def check(self) -> None:
        """Rules the schema cannot state: unique ids, a score's id is <instrument>_<score>, two
        different arms, at least one primary outcome."""
        ids = [o.id for o in self.outcomes]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        problems = [f"outcome id {i!r} is declared twice" for i in repeated]
        for o in self.outcomes:
            if o.is_score and o.id != f"{o.instrument}_{o.score}":
                problems.append(
                    f"outcome {o.id!r}: a questionnaire outcome's id is <instrument>_<score>"
                    f" ({o.instrument}_{o.score})"
                )
        for o in self.scores:
            for when in (o.timepoint, o.baseline):
                if when not in self.timepoints:
                    problems.append(f"outcome {o.id!r}: time point {when!r} is not in timepoints")
        if self.treated.value == self.control.value:
            problems.append("the two arms have the same value")
        if not self.primary:
            problems.append("no outcome has role primary")
        if problems:
            raise DesignError("design: " + "; ".join(problems))

    @property
    def arms(self) -> tuple[str, str]:
        """The arm values, treated first."""
        return (self.treated.value, self.control.value)

    @property
    def primary(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.role == "primary")

    @property
    def scores(self) -> tuple[Outcome, ...]:
        """Questionnaire outcomes, primary first, in declared order."""
        return tuple(o for o in self.outcomes if o.is_score)

    @property
    def records(self) -> tuple[Outcome, ...]:
        """Outcomes from the LAs' records."""
        return tuple(o for o in self.outcomes if not o.is_score)

    @property
    def follow_up_days(self) -> int:
        return round(self.follow_up_months * 365.25 / 12)

    def outcome(self, outcome_id: str) -> Outcome:
        for o in self.outcomes:
            if o.id == outcome_id:
                return o
        known = ", ".join(o.id for o in self.outcomes)
        raise DesignError(f"no outcome {outcome_id!r} in the design (outcomes: {known})")

    def when(self, timepoint: str, form: str = "short") -> str:
        """A time point's name in a sentence ("week-8") or a table ("Week 8", form="label")."""
        return self.timepoints[timepoint][form]

    def label(self, arm: str) -> str:
        return self.labels.get(arm, arm)
