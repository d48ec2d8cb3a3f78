"""Hubs as reports name them: by the hub sheet's `hub_name`, never by a hard-coded list."""

from __future__ import annotations

import pandas as pd


def hub_names(hubs: pd.DataFrame) -> dict[str, str]:
    """hub_id -> hub_name of a hub sheet (the one the rule hands over)."""
    return dict(zip(hubs["hub_id"], hubs["hub_name"]))


def named(hub_ids: pd.Series, names: dict[str, str]) -> pd.Series:
    """Hub ids replaced by their names; an id not in `names` (e.g. "All hubs") stays as it is."""
    return hub_ids.map(lambda hub: names.get(hub, hub))
