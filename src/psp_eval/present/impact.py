"""Tables of the impact evaluation as reports show them (disclosure-controlled)."""

from __future__ import annotations

import pandas as pd

from psp_eval.analyses.consort import Consort
from psp_eval.present import disclosure, tables


def baseline_table(
    frame: pd.DataFrame,
    arm: str,
    arm_labels: dict[str, str],
    continuous: dict[str, str],
    categorical: dict[str, str],
) -> pd.DataFrame:
    """Table 1: baseline characteristics by arm, no p-values. Continuous: mean (SD) and the
    number with a value; categorical: n (%) of those with a value, counts through disclosure
    control (a category of 1-4 families and its giveaway read "[c]")."""
    rows: list[dict[str, str]] = []
    arms = list(arm_labels)
    sizes = frame[arm].value_counts()
    rows.append(
        {
            "Characteristic": "Families randomised, n",
            **{arm_labels[a]: str(disclosure.safe_count(sizes.get(a, 0))) for a in arms},
        }
    )
    for column, label in continuous.items():
        row = {"Characteristic": f"{label}, mean (SD)"}
        for a in arms:
            values = frame.loc[frame[arm] == a, column].dropna().astype(float)
            row[arm_labels[a]] = (
                f"{values.mean():.1f} ({values.std(ddof=1):.1f}); n = {len(values)}"
                if len(values) >= disclosure.DEFAULT_THRESHOLD
                else disclosure.SUPPRESSED
            )
        rows.append(row)
    for column, label in categorical.items():
        data = frame.dropna(subset=[column])
        counts = pd.crosstab(data[column].astype(str), data[arm]).reindex(
            columns=arms, fill_value=0
        )
        counts.loc["total"] = counts.sum()
        safe = disclosure.suppress(counts, arms, total_row="total")
        rows.append({"Characteristic": f"{label}, n (%)", **{arm_labels[a]: "" for a in arms}})
        for category in counts.index:
            if category == "total":
                continue
            row = {"Characteristic": f"  {category.replace('_', ' ')}"}
            for a in arms:
                shown = safe.at[category, a]
                total = counts.at["total", a]
                row[arm_labels[a]] = (
                    shown
                    if shown == disclosure.SUPPRESSED
                    else f"{int(shown)} ({100 * int(shown) / total:.0f}%)"
                    if total
                    else "0"
                )
            rows.append(row)
    return pd.DataFrame(rows)


def consort_shown(flow: Consort, threshold: int = disclosure.DEFAULT_THRESHOLD) -> dict[str, str]:
    """Box texts safe for funders: 1 to threshold-1 hidden, and a second box of any split
    with one hidden part (so none is recovered by subtraction); zeros are shown."""
    values = {**flow.counts, **flow.reasons}
    hidden = {k for k, v in values.items() if 0 < v < threshold}
    changed = True
    while changed:
        changed = False
        for parent, parts in flow.splits:
            group = (parent, *parts)
            if sum(k in hidden for k in group) != 1:
                continue
            candidates = [k for k in group if k not in hidden and values[k] > 0]
            if candidates:
                hidden.add(min(candidates, key=lambda k: (values[k], k)))
                changed = True
    return {k: disclosure.SUPPRESSED if k in hidden else f"{v:,}" for k, v in values.items()}


# --- the impact evaluation's report tables and text, from the analyses' tidy results ----------
BASELINE_CATEGORIES = {
    "sex": "Index child's sex",
    "ethnicity": "Ethnicity",
    "referral_group": "Referral group",
}
FAMILY_CHARACTERISTICS = {
    "child_age": "Index child's age (years)",
    "n_children": "Children in the family",
}


def baseline_characteristics(design, *, trial: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Table 1's rows: (continuous, categorical) column -> label; the hub only trial-wide."""
    continuous = dict(FAMILY_CHARACTERISTICS)
    for o in design.scores:
        continuous[o.baseline_column] = f"{o.label} ({o.range})"
    return continuous, {**BASELINE_CATEGORIES, **({"hub_id": "Hub"} if trial else {})}


def means_table(means: pd.DataFrame, design, level: str) -> pd.DataFrame:
    """Scores by arm and time point (`score_means`): labelled, rounded, groups of fewer than
    the threshold hidden."""
    labelled = means.assign(
        outcome=means["outcome"].map(lambda i: design.outcome(i).label),
        timepoint=means["timepoint"].map(lambda w: design.when(w, "label")),
    )
    rounded = labelled.round({"mean": 2, "sd": 2, "ci_low": 2, "ci_high": 2}).replace(
        {"arm": dict(design.labels)}
    )
    shown = disclosure.hide_small_groups(rounded, "n", ["mean", "sd", "ci_low", "ci_high"])
    columns = {"outcome": "Outcome", "timepoint": "Time", "arm": "Arm", "n": "n", "mean": "Mean",
               "sd": "SD", "ci_low": f"{level}% CI low", "ci_high": f"{level}% CI high"}  # fmt: skip
    return shown[list(columns)].rename(columns=columns)


def consort_numbers(flow: Consort, design) -> dict[str, object]:
    """The CONSORT counts the reports quote (through disclosure control)."""
    keys = [
        "referred",
        "randomised",
        *(f"{arm}_{box}" for box in ("allocated", "analysed") for arm in design.arms),
    ]
    return {f"consort_{key}": disclosure.safe_count(flow.counts[key]) for key in keys}


def effect_numbers(effects: pd.DataFrame, design) -> dict[str, object]:
    """The numbers reports quote from `score_effects`: each outcome's effect, interval, SE,
    Hedges' g, p-value (as a number, as text and its method) and families per arm."""
    numbers: dict[str, object] = {}
    for row in effects.itertuples():
        o = design.outcome(row.outcome)
        for key, name in (("estimate", "effect"), ("ci_low", "effect_ci_low"), ("ci_high", "effect_ci_high"),
                          ("se", "effect_se"), ("hedges_g", "hedges_g"), ("hedges_g_ci_low", "hedges_g_ci_low"),
                          ("hedges_g_ci_high", "hedges_g_ci_high")):  # fmt: skip
            digits = 3 if "hedges" in name else o.decimals
            numbers[f"{o.id}_{name}"] = tables.shown_value(getattr(row, key), digits)
        numbers[f"{o.id}_effect_p"] = tables.p_number(row.p_adjusted)
        numbers[f"{o.id}_effect_p_text"] = tables.p_text(row.p_adjusted)
        numbers[f"{o.id}_effect_p_method"] = row.p_method
        numbers[f"{o.id}_effect_p_words"] = tables.adjustment_words(row.p_method)
        numbers[f"{o.id}_n_{design.treated.value}"] = disclosure.safe_count(row.n_treated)
        numbers[f"{o.id}_n_{design.control.value}"] = disclosure.safe_count(row.n_control)
    return numbers


def primary_table(effects: pd.DataFrame, design, level: str) -> pd.DataFrame:
    """The week-8 outcomes as the report shows them: adjusted difference with SE, interval,
    p-value and its method, and Hedges' g."""
    ne = tables.NOT_ESTIMABLE
    rows = []
    for row in effects.itertuples():
        o = design.outcome(row.outcome)
        g = (
            ne
            if not row.estimable
            else (f"{row.hedges_g:.2f} ({row.hedges_g_ci_low:.2f} to {row.hedges_g_ci_high:.2f})")
        )
        rows.append({
            "Outcome": f"{o.label} ({o.role})",
            "Units": o.units,
            f"n {design.label(design.treated.value)}": disclosure.safe_count(row.n_treated),
            f"n {design.label(design.control.value)}": disclosure.safe_count(row.n_control),
            "Difference": tables.shown_value(row.estimate, 2),
            "SE": tables.shown_value(row.se, 2),
            f"{level}% CI": tables.interval(row.ci_low, row.ci_high),
            "p": tables.p_text(row.p_adjusted),
            "p method": row.p_method,
            f"Hedges' g ({level}% CI)": g,
        })  # fmt: skip
    return pd.DataFrame(rows)


SENSITIVITY_LABELS = {
    "ancova": "Primary: ANCOVA, complete cases",
    "welch": "Unadjusted (Welch)",
    "mixed": "Mixed model: {model}",
    "mice": "Multiple imputation ({model})",
}
MODEL_WORDS = {"hub_id": "hub", "la_code": "LA"}


def sensitivity_numbers(rows: pd.DataFrame) -> dict[str, object]:
    """The unadjusted difference, mixed-model and multiple-imputation estimates quoted."""
    numbers: dict[str, object] = {}
    for row in rows.itertuples():
        if row.analysis == "welch":
            for key in ("estimate", "ci_low", "ci_high"):
                numbers[f"{row.outcome}_diff_{key}"] = tables.shown_value(getattr(row, key))
            numbers[f"{row.outcome}_n_analysed"] = disclosure.safe_count(row.n)
        elif row.analysis in ("mixed", "mice") and pd.notna(row.estimate):
            key = "mixed_effect" if row.analysis == "mixed" else "mi_effect"
            numbers[f"{row.outcome}_{key}"] = tables.shown_value(row.estimate)
    return numbers


def sensitivity_table(rows: pd.DataFrame, design, level: str) -> pd.DataFrame:
    """Each outcome's estimate under each analysis, with interval, p-value and n."""
    ne = tables.NOT_ESTIMABLE
    shown = []
    for row in rows.itertuples():
        model = row.model if isinstance(row.model, str) and row.model else "not estimable"
        for word, name in MODEL_WORDS.items():
            model = model.replace(word, name)
        shown.append({
            "Outcome": design.outcome(row.outcome).label,
            "Analysis": SENSITIVITY_LABELS[row.analysis].format(model=model),
            "n": ne if pd.isna(row.n) else disclosure.safe_count(row.n),
            "Difference": tables.shown_value(row.estimate, 2),
            f"{level}% CI": tables.interval(row.ci_low, row.ci_high),
            "p": tables.p_text(row.p_value),
        })  # fmt: skip
    return pd.DataFrame(shown)


def attrition_counts(frame: pd.DataFrame, outcome, design) -> tuple[pd.DataFrame, pd.Series]:
    """Families with and without `outcome` at its time point, per arm and in all, and the
    share missing (%)."""
    when = f"{design.when(outcome.timepoint)} {outcome.short}"
    missing = frame[outcome.column].isna()
    table = pd.crosstab(frame["arm"], missing).reindex(
        index=list(design.arms), columns=[False, True], fill_value=0
    )
    table.columns = [f"With {when}", f"Missing {when}"]
    table["Randomised"] = table.sum(axis=1)
    table.loc["All"] = table.sum()
    pct = (100 * table[f"Missing {when}"] / table["Randomised"]).round(1)
    return table, pct


def attrition_numbers(table: pd.DataFrame, pct: pd.Series, outcome, design) -> dict[str, object]:
    return {
        f"missing_{outcome.instrument}_pct_{arm}": tables.shown_value(pct[arm], 1)
        if table.at[arm, "Randomised"] >= disclosure.DEFAULT_THRESHOLD
        else disclosure.SUPPRESSED
        for arm in design.arms
    }


def attrition_table(table: pd.DataFrame, pct: pd.Series, design) -> pd.DataFrame:
    """`attrition_counts` through disclosure control (a hidden cell's total hidden too)."""
    with_, missing = table.columns[:2]
    safe = disclosure.suppress(table, [with_, missing], row_total="Randomised", total_row="All")
    safe["Missing (%)"] = [
        pct.get(a, "") if s != disclosure.SUPPRESSED else disclosure.SUPPRESSED
        for a, s in zip(table.index, safe[missing])
    ]
    safe.index = [design.label(i) if i in design.arms else i for i in safe.index]
    safe.index.name = "Arm"
    return safe


def odds_ratio_table(
    model: pd.DataFrame | None, level: str, design, *, trial: bool
) -> pd.DataFrame:
    """`attrition_model`'s odds ratios as the report shows them, each term in words: the arm
    by the arms' display names (`design.labels`: "Arm A" in a blinded report, never the arm
    values in the data), the other predictors as Table 1 names them, a category with the level
    it is compared with."""
    continuous, categorical = baseline_characteristics(design, trial=trial)
    names, labels, arm = continuous | categorical, design.labels, "arm"
    if model is None:
        return pd.DataFrame({"Term": [tables.NOT_ESTIMABLE]})

    def term(row) -> str:
        name = names.get(row.predictor, row.predictor)
        if pd.isna(row.level):
            return name
        if row.predictor == arm:
            level, base = (labels.get(v, v) for v in (row.level, row.reference))
            return f"{level} (vs {base})"
        values = pd.Series([row.level, row.reference])
        if row.predictor == "hub_id":  # as the forest plot names hubs
            level, base = group_names(values, titled=True)
        else:
            level, base = values.str.replace("_", " ")
        return f"{name}: {level} (vs {base})"

    terms = [term(row) for row in model.itertuples()]
    return pd.DataFrame({
        "Term": terms,
        "Odds ratio": model["odds_ratio"].map("{:.2f}".format),
        f"{level}% CI": [tables.interval(a, b) for a, b in zip(model["ci_low"], model["ci_high"])],
        "p": model["p_value"].map(tables.format_p),
    })  # fmt: skip


MEASURE_KEYS = {"rate": "rate_ratio", "risk": "risk_ratio", "time_to_first": "hazard_ratio"}


def record_numbers(records: pd.DataFrame, design) -> dict[str, object]:
    """The LA-record effects quoted: ratios with intervals, and each arm's risk (%)."""
    numbers: dict[str, object] = {}
    for row in records.itertuples():
        key = f"{row.outcome}_{MEASURE_KEYS[row.measure]}"
        for column, suffix in (("estimate", ""), ("ci_low", "_ci_low"), ("ci_high", "_ci_high")):
            numbers[f"{key}{suffix}"] = tables.shown_value(getattr(row, column), 3)
        if row.measure == "risk":
            for arm, pct, n in ((design.treated.value, row.pct_treated, row.n_arm_treated),
                                (design.control.value, row.pct_control, row.n_arm_control)):  # fmt: skip
                shown = (
                    tables.shown_value(pct, 1)
                    if n >= disclosure.DEFAULT_THRESHOLD
                    else disclosure.SUPPRESSED
                )
                numbers[f"{row.outcome}_pct_{arm}"] = shown
    return numbers


def secondary_table(records: pd.DataFrame, design, level: str) -> pd.DataFrame:
    """The LA-record outcomes: the measure (and model), ratio, interval and p-value."""
    ne = tables.NOT_ESTIMABLE
    months = f"{design.follow_up_months:g}"
    treated, control = (design.label(a) for a in design.arms)
    rows = []
    for row in records.itertuples():
        o = design.outcome(row.outcome)
        estimable = pd.notna(row.estimate)
        if row.measure == "rate":
            label = o.label
            measure = f"Rate ratio, {o.rate['per']}" + (f" ({row.model})" if estimable else "")
        elif row.measure == "time_to_first":
            label, measure = o.time_to_first["label"], "Hazard ratio (Cox)"
        else:
            label, measure = f"{o.label} within {months} months", "Risk ratio"
            if (
                estimable
                and min(row.events_treated, row.events_control) >= disclosure.DEFAULT_THRESHOLD
            ):
                measure += f" ({row.pct_treated:.1f}% {treated}, {row.pct_control:.1f}% {control})"
        rows.append({
            "Outcome": label,
            "Measure": measure,
            "Estimate": f"{row.estimate:.2f}" if estimable else ne,
            f"{level}% CI": tables.interval(row.ci_low, row.ci_high),
            "p": tables.p_text(row.p_value) if estimable else ne,
        })  # fmt: skip
    return pd.DataFrame(rows)


def survival_numbers(outcome, tests: dict) -> dict[str, object]:
    """The log-rank and proportional-hazards p-values and the RMST difference quoted."""
    logrank, ph, rmst = tests["logrank"], tests["ph"], tests["rmst"]
    numbers = {
        f"{outcome.id}_logrank_p": tables.NOT_ESTIMABLE if logrank is None else tables.format_p(logrank["p_value"]),
        f"{outcome.id}_ph_p": tables.NOT_ESTIMABLE if ph is None else tables.format_p(ph["p_value"]),
    }  # fmt: skip
    for key in ("difference", "ci_low", "ci_high"):
        numbers[f"{outcome.id}_rmst_{key}_days"] = tables.shown_value(
            None if rmst is None else rmst[key], 1
        )
    return numbers


def survival_table(records: pd.DataFrame, outcome, tests: dict, design, level: str) -> pd.DataFrame:
    """Time to the first event: log-rank test, Cox hazard ratio, PH check, RMST difference."""
    ne = tables.NOT_ESTIMABLE
    logrank, ph, rmst = tests["logrank"], tests["ph"], tests["rmst"]
    cox = records[
        (records["outcome"] == outcome.id) & (records["measure"] == "time_to_first")
    ].iloc[0]
    has_cox = pd.notna(cox["estimate"])
    months = f"{design.follow_up_months:g}"
    return pd.DataFrame([
        {"Statistic": "Log-rank test", "Value": ne if logrank is None else f"chi-square {logrank['statistic']:.2f} (1 df)",
         "p": ne if logrank is None else tables.format_p(logrank["p_value"])},
        {"Statistic": f"Cox hazard ratio ({level}% CI)",
         "Value": f"{cox['estimate']:.2f} ({cox['ci_low']:.2f} to {cox['ci_high']:.2f})" if has_cox else ne,
         "p": tables.format_p(cox["p_value"]) if has_cox else ne},
        {"Statistic": "Proportional hazards (arm term)", "Value": ne if ph is None else f"chi-square {ph['statistic']:.2f}",
         "p": ne if ph is None else tables.format_p(ph["p_value"])},
        {"Statistic": f"RMST difference to {months} months, days ({level}% CI)",
         "Value": ne if rmst is None else f"{rmst['difference']:.1f} ({rmst['ci_low']:.1f} to {rmst['ci_high']:.1f})", "p": ""},
    ])  # fmt: skip


def group_names(values: pd.Series, *, titled: bool) -> pd.Series:
    """Groups as the forest plot names them: hub ids in words ("london_east" -> "London
    East"; the impact analysis does not read the hub sheet, so that editing a hub's target
    reruns no impact job), LA codes as they are."""
    return values.map(lambda v: v.replace("_", " ").title() if titled else v)


def hide_small_groups(by_group: pd.DataFrame) -> pd.DataFrame:
    """Groups of fewer than twice the threshold read not estimable (NaN) in the forest plot."""
    shown = by_group.copy()
    hidden = shown["n"] < 2 * disclosure.DEFAULT_THRESHOLD
    shown.loc[hidden, ["estimate", "ci_low", "ci_high"]] = float("nan")
    return shown


def subgroup_rows(
    effects: pd.DataFrame, column: str, label: str, p_value: float | None
) -> list[dict]:
    """One subgroup's rows of the subgroup table (levels of fewer than twice the threshold, or
    not estimable, read not estimable)."""
    ne = tables.NOT_ESTIMABLE
    rows = []
    for _, e in effects.iterrows():
        small = e["n"] < 2 * disclosure.DEFAULT_THRESHOLD or pd.isna(e["estimate"])
        rows.append({
            "Subgroup": label,
            "Level": str(e[column]).replace("_", " "),
            "n": disclosure.safe_count(e["n"]),
            "Difference (95% CI)": ne if small else f"{e['estimate']:.2f} ({e['ci_low']:.2f} to {e['ci_high']:.2f})",
            "Interaction p": tables.p_text(p_value),
        })  # fmt: skip
    return rows


# --- the text the reports quote -----------------------------------------------------------------
def _favours(o, treated: str) -> str:
    return f"{'negative' if o.better == 'lower' else 'positive'} favours {treated}"


def summary_markdown(
    effects: pd.DataFrame, records: pd.DataFrame, design, *, level: str, hub: bool
) -> str:
    """The summary's bullets on the outcomes, from the results (one per questionnaire outcome,
    then the LA records)."""
    treated, control = (design.label(a) for a in design.arms)
    control_text = tables.in_text(control)
    bullets = []
    for row in effects.itertuples():
        o = design.outcome(row.outcome)
        role = "exploratory for one hub" if hub else o.role
        head = f"- **{o.theme} ({o.label}, {role}):**"
        if not row.estimable:
            bullets.append(
                f"{head} not estimable here (too few families with a {design.when(o.timepoint)} score)."
            )
            continue
        p = (
            ""
            if hub
            else f"; {tables.adjustment_words(row.p_method)} p {tables.p_text(row.p_adjusted)}"
        )
        g = (
            ""
            if hub
            else f", a standardised effect (Hedges' g) of {tables.shown_value(row.hedges_g, 3)}"
        )
        when = design.when(o.timepoint, "label").lower()
        bullets.append(
            f"{head} at {when}, {treated} minus {control_text}:"
            f" {tables.fixed(row.estimate, o.decimals)} {o.units} ({level}% CI"
            f" {tables.interval(row.ci_low, row.ci_high, o.decimals)}{p}; {_favours(o, treated)}){g}."
        )
    if not hub:
        bullets += _record_bullets(records, design, level)
    return "\n".join(bullets)


def _record_bullets(records: pd.DataFrame, design, level: str) -> list[str]:
    treated, control = (tables.in_text(design.label(a)) for a in design.arms)
    months = f"{design.follow_up_months:g}"
    bullets = []
    for outcome_id, rows in records.groupby("outcome", sort=False):
        o = design.outcome(outcome_id)
        parts = []
        for row in rows.itertuples():
            if pd.isna(row.estimate):
                parts.append(f"the {MEASURE_KEYS[row.measure].replace('_', ' ')} is not estimable")
                continue
            ci = f"{level}% CI {tables.interval(row.ci_low, row.ci_high)}"
            if row.measure == "risk":
                shown = {
                    arm: n >= disclosure.DEFAULT_THRESHOLD
                    for arm, n in (("t", row.n_arm_treated), ("c", row.n_arm_control))
                }
                pt = f"{row.pct_treated:.1f}%" if shown["t"] else disclosure.SUPPRESSED
                pc = f"{row.pct_control:.1f}%" if shown["c"] else disclosure.SUPPRESSED
                parts.append(
                    f"{pt} of {treated} families and {pc} of {control} families (risk ratio {row.estimate:.2f}; {ci})"
                )
            elif row.measure == "rate":
                parts.append(f"rate ratio {row.estimate:.2f} per year followed ({ci})")
            else:
                parts.append(
                    f"hazard ratio of the first {o.label.lower().rstrip('s')} {row.estimate:.2f} ({ci})"
                )
        bullets.append(
            f"- **{o.label} within {months} months:** {'; '.join(parts)}; ratios below 1 favour {design.label(design.treated.value)}."
        )
    return bullets


def primary_markdown(
    effects: pd.DataFrame, design, *, level: str, strata_words: str, hub: bool
) -> str:
    """The paragraph before the primary table: the analysis, then each outcome's difference."""
    treated, control = (design.label(a) for a in design.arms)
    sentences = []
    for row in effects.itertuples():
        o = design.outcome(row.outcome)
        if not row.estimable:
            sentences.append(f"The {o.label} difference is not estimable here.")
            continue
        p = f"; {tables.adjustment_words(row.p_method)} p {tables.p_text(row.p_adjusted)}"
        sentences.append(
            f"The {o.label} difference, {treated} minus {tables.in_text(control)}, was"
            f" {tables.fixed(row.estimate, o.decimals)} {o.units} ({level}% CI"
            f" {tables.interval(row.ci_low, row.ci_high, o.decimals)}{p})."
        )
    lead = (
        f"Intention to treat: ANCOVA of each {design.when(design.primary[0].timepoint)} score on arm,"
        f" the baseline score and the stratification factors ({strata_words})."
    )
    if hub:
        lead += " Estimates for one hub are exploratory."
    return " ".join([lead, *sentences])


# --- the impact notebook's steps: numbers, words and figure inputs -------------------------------


def method_numbers(design, sap: dict) -> dict[str, object]:
    """The SAP's method words the reports quote: interval level, multiplicity method, number
    of imputations, and the first primary outcome (CONSORT and heterogeneity follow it)."""
    return {
        "ci_level_pct": tables.level_pct(sap["alpha"]),
        "multiplicity_words": tables.adjustment_words(sap["multiplicity"]),
        "imputations": sap["imputations"],
        "first_primary": design.primary[0].label,
    }


def strata_words(covariates) -> str:
    """Stratification factors in words: "hub_id", "referral_route" -> "hub, referral route"."""
    return ", ".join(s.replace("_id", "").replace("_", " ") for s in covariates)


def outcome_label(outcome, design) -> str:
    """An outcome at its time point, shortly: "week-8 SDQ"."""
    return f"{design.when(outcome.timepoint)} {outcome.short}"


def first_event(design):
    """The first record outcome with a time to first event (the survival figure and table)."""
    return next(o for o in design.records if o.time_to_first)


def first_event_numbers(design, tests: dict[str, dict]) -> dict[str, object]:
    """`survival_numbers` of every record outcome with a time to first event."""
    numbers: dict[str, object] = {}
    for o in design.records:
        if o.id in tests:
            numbers |= survival_numbers(o, tests[o.id])
    return numbers


def heterogeneity_numbers(outcome, p_value: float | None, *, trial: bool) -> dict[str, str]:
    """The interaction p-value of the hub (trial) or LA (hub report) by arm test, under the
    outcome's key and under the key the reports quote."""
    key = f"{outcome.id}_{'hub' if trial else 'la'}_interaction_p"
    return {key: tables.p_text(p_value), "heterogeneity_interaction_p": tables.p_text(p_value)}


def forest_inputs(
    effects: pd.DataFrame, by_group: pd.DataFrame, group: str, outcome, *, level: str, trial: bool
) -> dict[str, object]:
    """The forest plot's arguments: each group's effect (small groups not estimable, hubs
    named in words), the pooled ANCOVA estimate (none when not estimable) and the labels."""
    primary = effects.set_index("outcome").loc[outcome.id]
    shown = hide_small_groups(by_group).assign(name=group_names(by_group[group], titled=trial))
    return {
        "effects": shown,
        "label": "name",
        "pooled": primary if primary["estimable"] else None,
        "xlabel": f"{outcome.short} difference, points ({level}% CI)",
        "pooled_label": "All hubs (pooled)" if trial else "This hub (pooled)",
    }


def subgroup_numbers(outcome, subgroups: list[tuple]) -> dict[str, str]:
    """The interaction p-value of each pre-specified subgroup (`subgroup_analyses`)."""
    return {
        f"{outcome.id}_{column}_interaction_p": tables.p_text(p) for column, _, _, p in subgroups
    }


def subgroups_table(subgroups: list[tuple]) -> pd.DataFrame:
    """The subgroup table: every level of every subgroup of `subgroup_analyses`."""
    rows = []
    for column, label, effects, p in subgroups:
        rows += subgroup_rows(effects, column, label, p)
    return pd.DataFrame(rows)
