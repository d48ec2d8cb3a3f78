"""CONSORT flow of families through the trial, counted from the data and drawn as a figure.

Why: funders and reviewers read a trial's flow from the CONSORT diagram; its counts must add
up (every box equals the sum of the boxes it splits into) and small counts must not identify
anyone, so the same disclosure rules as every table apply (suppressed boxes read "[c]").
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from psp_eval import blinding, disclosure
from psp_eval.contract import ARMS


@dataclass(frozen=True)
class Consort:
    """Box counts by key (e.g. "referred", "sffc_allocated") and the splits they obey."""

    counts: dict[str, int]
    reasons: dict[str, int]  # reasons for not being randomised (sum to "excluded")
    splits: tuple[tuple[str, tuple[str, ...]], ...]

    def check(self) -> list[str]:
        """Splits whose parts do not add up to their box (empty when all reconcile)."""
        bad = []
        for parent, parts in self.splits:
            total = sum(self._value(p) for p in parts)
            if total != self._value(parent):
                bad.append(f"{parent} = {self._value(parent)} but its parts {parts} sum to {total}")
        return bad

    def _value(self, key: str) -> int:
        return self.counts[key] if key in self.counts else self.reasons[key]

    def shown(self, threshold: int = disclosure.DEFAULT_THRESHOLD) -> dict[str, str]:
        """Box texts safe for funders: 1 to threshold-1 hidden, and a second box of any split
        with one hidden part (so none is recovered by subtraction); zeros are shown."""
        values = {**self.counts, **self.reasons}
        hidden = {k for k, v in values.items() if 0 < v < threshold}
        changed = True
        while changed:
            changed = False
            for parent, parts in self.splits:
                group = (parent, *parts)
                if sum(k in hidden for k in group) != 1:
                    continue
                candidates = [k for k in group if k not in hidden and values[k] > 0]
                if candidates:
                    hidden.add(min(candidates, key=lambda k: (values[k], k)))
                    changed = True
        return {k: disclosure.SUPPRESSED if k in hidden else f"{v:,}" for k, v in values.items()}


def consort_counts(
    referrals: pd.DataFrame, randomisation: pd.DataFrame, support: pd.DataFrame,
    withdrawals: pd.DataFrame, outcomes: pd.DataFrame, outcome: str, baseline: str,
) -> Consort:
    """Counts for each CONSORT box. Per arm: allocated = received + did not receive the
    allocated support (SFFC: any support episode; usual care: none); allocated = withdrawn
    + lost to follow-up (no `outcome`, not withdrawn) + followed up; allocated = analysed
    (both `baseline` and `outcome`, intention to treat, withdrawn families with data
    included) + not analysed."""
    randomised_ids = set(randomisation["family_id"])
    referred = len(referrals)
    not_randomised = referrals[~referrals["family_id"].isin(randomised_ids)]
    reasons = {}
    for reason, n in not_randomised["reason_not_randomised"].fillna("reason not recorded").value_counts().items():
        reasons[f"reason: {reason}"] = int(n)
    counts = {"referred": referred, "excluded": len(not_randomised), "randomised": len(randomised_ids)}
    supported = set(support["family_id"])
    withdrawn = set(withdrawals["family_id"])
    data = randomisation[["family_id", "arm"]].merge(outcomes[["family_id", outcome, baseline]], on="family_id", how="left")
    splits: list[tuple[str, tuple[str, ...]]] = [
        ("referred", ("excluded", "randomised")),
        ("excluded", tuple(sorted(reasons))),
        ("randomised", tuple(f"{a}_allocated" for a in ARMS)),
    ]
    for arm in ARMS:
        part = data[data["arm"] == arm]
        ids = set(part["family_id"])
        got_support = ids & supported
        received = len(got_support) if arm == "sffc" else len(ids - supported)
        has_outcome = part[outcome].notna()
        is_withdrawn = part["family_id"].isin(withdrawn)
        analysed = int((has_outcome & part[baseline].notna()).sum())
        counts.update({
            f"{arm}_allocated": len(ids),
            f"{arm}_received": received,
            f"{arm}_not_received": len(ids) - received,
            f"{arm}_withdrawn": int(is_withdrawn.sum()),
            f"{arm}_lost": int((~has_outcome & ~is_withdrawn).sum()),
            f"{arm}_followed_up": int((has_outcome & ~is_withdrawn).sum()),
            f"{arm}_analysed": analysed,
            f"{arm}_not_analysed": len(ids) - analysed,
        })
        splits += [
            (f"{arm}_allocated", (f"{arm}_received", f"{arm}_not_received")),
            (f"{arm}_allocated", (f"{arm}_withdrawn", f"{arm}_lost", f"{arm}_followed_up")),
            (f"{arm}_allocated", (f"{arm}_analysed", f"{arm}_not_analysed")),
        ]
    return Consort(counts, reasons, tuple(splits))


ARM_TITLES = blinding.live_labels()  # the CONSORT boxes: A and B for blinded data


def consort_figure(flow: Consort, outcome_label: str = "week-8 SDQ") -> Figure:
    """The CONSORT diagram: boxes and arrows, counts through `Consort.shown` ("[c]" hidden)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    s = flow.shown()
    fig, ax = plt.subplots(figsize=(8.0, 8.6))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.axis("off")

    def box(x: float, y: float, w: float, h: float, text: str, left: bool = False) -> None:
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.4",
                                    facecolor="white", edgecolor="0.3", linewidth=1))
        if left:
            ax.text(x - w / 2 + 1, y, text, ha="left", va="center", fontsize=7)
        else:
            ax.text(x, y, text, ha="center", va="center", fontsize=7.5)

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->", "color": "0.3"})

    ordered = sorted(flow.reasons, key=lambda k: (-flow.reasons[k], k))
    reason_lines = "\n".join(f"  {k.removeprefix('reason: ')}: {s[k]}" for k in ordered)
    box(22, 94, 34, 6, f"Families referred and assessed\nfor eligibility (n = {s['referred']})")
    box(70, 80, 58, 17, f"Not randomised (n = {s['excluded']})\n{reason_lines}", left=True)
    box(22, 68, 30, 5, f"Randomised (n = {s['randomised']})")
    arrow(22, 90.6, 22, 71)
    arrow(22, 80, 40.4, 80)
    ys = {"alloc": 52, "follow": 30, "analysed": 9}
    for x, arm in ((22, "sffc"), (72, "usual")):
        title = ARM_TITLES[arm]
        what = "SFFC support" if arm == "sffc" else "no SFFC support"
        box(x, ys["alloc"], 40, 10, f"Allocated to {title} (n = {s[f'{arm}_allocated']})\n"
            f"Received allocation ({what}) (n = {s[f'{arm}_received']})\n"
            f"Did not receive it (n = {s[f'{arm}_not_received']})")
        box(x, ys["follow"], 40, 10, f"Withdrew (n = {s[f'{arm}_withdrawn']})\n"
            f"Lost to follow-up: no {outcome_label} (n = {s[f'{arm}_lost']})\n"
            f"Followed up (n = {s[f'{arm}_followed_up']})")
        box(x, ys["analysed"], 40, 9, f"Analysed, intention to treat (n = {s[f'{arm}_analysed']})\n"
            f"Not analysed: no baseline or {outcome_label} (n = {s[f'{arm}_not_analysed']})")
        arrow(22, 65.5, x, ys["alloc"] + 5.6)
        arrow(x, ys["alloc"] - 5.4, x, ys["follow"] + 5.6)
        arrow(x, ys["follow"] - 5.4, x, ys["analysed"] + 5.1)
    for y, label in ((ys["alloc"] + 8.5, "Allocation"), (ys["follow"] + 8, "Follow-up"), (ys["analysed"] + 7.5, "Analysis")):
        ax.text(50 - 3, y, label, ha="center", va="center", fontsize=8, fontweight="bold", color="0.25")
    return fig
