"""CONSORT flow of families through the trial, counted from the data and drawn as a figure.

Why: funders and reviewers read a trial's flow from the CONSORT diagram; its counts must add
up (every box equals the sum of the boxes it splits into) and small counts must not identify
anyone, so the same disclosure rules as every table apply (suppressed boxes read "[c]").
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from psp_eval.data.contract import ARMS
from psp_eval.data.scope import isin


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


def consort_counts(
    referrals: pd.DataFrame,
    randomisation: pd.DataFrame,
    support: pd.DataFrame,
    withdrawals: pd.DataFrame,
    outcomes: pd.DataFrame,
    outcome: str,
    baseline: str,
) -> Consort:
    """Counts for each CONSORT box. Per arm: allocated = received + did not receive the
    allocated support (SFFC: any support episode; usual care: none); allocated = withdrawn
    + lost to follow-up (no `outcome`, not withdrawn) + followed up; allocated = analysed
    (both `baseline` and `outcome`, intention to treat, withdrawn families with data
    included) + not analysed."""
    randomised_ids = set(randomisation["family_id"])
    referred = len(referrals)
    not_randomised = referrals[~isin(referrals["family_id"], randomised_ids)]
    reasons = {}
    for reason, n in (
        not_randomised["reason_not_randomised"].fillna("reason not recorded").value_counts().items()
    ):
        reasons[f"reason: {reason}"] = int(n)
    counts = {
        "referred": referred,
        "excluded": len(not_randomised),
        "randomised": len(randomised_ids),
    }
    supported = set(support["family_id"])
    withdrawn = set(withdrawals["family_id"])
    data = randomisation[["family_id", "arm"]].merge(
        outcomes[["family_id", outcome, baseline]], on="family_id", how="left"
    )
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
        is_withdrawn = isin(part["family_id"], withdrawn)
        analysed = int((has_outcome & part[baseline].notna()).sum())
        counts.update(
            {
                f"{arm}_allocated": len(ids),
                f"{arm}_received": received,
                f"{arm}_not_received": len(ids) - received,
                f"{arm}_withdrawn": int(is_withdrawn.sum()),
                f"{arm}_lost": int((~has_outcome & ~is_withdrawn).sum()),
                f"{arm}_followed_up": int((has_outcome & ~is_withdrawn).sum()),
                f"{arm}_analysed": analysed,
                f"{arm}_not_analysed": len(ids) - analysed,
            }
        )
        splits += [
            (f"{arm}_allocated", (f"{arm}_received", f"{arm}_not_received")),
            (f"{arm}_allocated", (f"{arm}_withdrawn", f"{arm}_lost", f"{arm}_followed_up")),
            (f"{arm}_allocated", (f"{arm}_analysed", f"{arm}_not_analysed")),
        ]
    return Consort(counts, reasons, tuple(splits))
