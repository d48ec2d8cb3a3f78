"""The synthetic demo trial (psp_eval.data.demo): contract-shaped, deterministic, truthful."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from psp_eval.data import contract
from psp_eval.data import demo as synth
from psp_eval.data.contract import TABLES

ROOT = Path(__file__).resolve().parents[2]
CONFIG_HUBS = ROOT / "config" / "hubs.tsv"
CONFIG_INSTRUMENTS = ROOT / "config" / "instruments.yaml"
SMALL = {"n_families": 120, "n_las": 6}
Z95, Z999 = 1.96, 3.29  # normal quantiles for 95% and 99.9% intervals


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    synth.generate(out, **SMALL)
    return out


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("default")
    synth.generate(out)
    return out


def read(folder: Path, name: str) -> pd.DataFrame:
    """A table as text, empty cells as ""."""
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def iso(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None), format="%Y-%m-%d")


def dmy(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None), format="%d/%m/%Y")


# --- files, bytes, determinism ---------------------------------------------------------------
def test_writes_every_table_with_the_contract_columns(small: Path) -> None:
    assert sorted(p.name for p in small.iterdir()) == sorted(
        [f"{t}.csv" for t in TABLES] + ["hubs.tsv", "truth.json"]
    )
    for name, table in TABLES.items():
        header = (small / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == table.column_names, name
        assert len(read(small, name)) > 0, f"{name} is empty"


def test_returns_the_paths_written(tmp_path: Path) -> None:
    written = synth.generate(tmp_path, n_families=20, n_las=5)
    assert set(written) == {*TABLES, "hubs", "truth"}
    assert all(p.is_file() and p.parent == tmp_path for p in written.values())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left"


def test_same_seed_gives_identical_bytes_and_another_seed_differs(
    small: Path, tmp_path: Path
) -> None:
    again, other = tmp_path / "again", tmp_path / "other"
    synth.generate(again, **SMALL)
    synth.generate(other, seed=synth.DEFAULT_SEED + 1, **SMALL)
    for path in small.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
    changed = [p.name for p in small.iterdir() if (other / p.name).read_bytes() != p.read_bytes()]
    assert {"referrals.csv", "measures.csv", "ssda903_episodes.csv"} <= set(changed)


def test_hub_sheet_is_the_config_sheet_by_default(small: Path) -> None:
    assert (small / "hubs.tsv").read_bytes() == CONFIG_HUBS.read_bytes()


def test_more_hubs_extend_the_config_sheet(tmp_path: Path) -> None:
    synth.generate(tmp_path, n_hubs=9, n_las=12, n_families=80)
    lines = (tmp_path / "hubs.tsv").read_text(encoding="utf-8").splitlines()
    config = CONFIG_HUBS.read_text(encoding="utf-8").splitlines()
    assert lines[: len(config)] == config and len(lines) == 10
    hubs = pd.read_csv(tmp_path / "hubs.tsv", sep="\t", dtype=str)
    assert hubs["hub_id"].is_unique and hubs["hub_id"].str.fullmatch(r"[a-z_]+").all()
    assert (hubs["nation"] == "England").all()
    assert set(read(tmp_path, "las")["hub_id"]) == set(hubs["hub_id"])  # every hub has an LA


@pytest.mark.parametrize(
    "sizes", [{"n_hubs": 0}, {"n_hubs": 999}, {"n_las": 3}, {"n_las": 400}, {"n_families": 0}]
)
def test_refuses_impossible_sizes(tmp_path: Path, sizes: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        synth.generate(tmp_path, **sizes)


@pytest.mark.slow
def test_scales_to_fifty_thousand_families_quickly(tmp_path: Path) -> None:
    start = time.perf_counter()
    synth.generate(tmp_path, n_hubs=30, n_las=150, n_families=50_000)
    assert time.perf_counter() - start < 45  # "well under a minute"; about 10 s here
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["sizes"]["n_families"] == 50_000
    assert len(read(tmp_path, "las")) == 150


# --- the contract ----------------------------------------------------------------------------
def contract_problems(folder: Path) -> list[str]:
    """Check the files against TABLES: types, empties, allowed values, ranges, keys, foreign
    keys and date order (independently of contract.validate_dir)."""
    problems: list[str] = []
    data = {name: read(folder, name) for name in TABLES}
    data["hubs"] = pd.read_csv(folder / "hubs.tsv", sep="\t", dtype=str)
    parsers = {
        "date": iso,
        "date_dmy": dmy,
        "int": lambda s: pd.to_numeric(s.where(s.str.fullmatch(r"-?\d+"))),
        "float": lambda s: pd.to_numeric(s, errors="coerce"),
        "bool": lambda s: s.map({"true": True, "false": False}),
    }
    for name, table in TABLES.items():
        df = data[name]
        for col in table.columns:
            text = df[col.name]
            empty = text == ""
            if empty.any() and not col.nullable:
                problems.append(f"{name}.{col.name}: empty cells")
            filled = text[~empty]
            parse = parsers.get(col.kind)
            value = filled if parse is None else parse(filled)
            if parse is not None and value.isna().any():
                problems.append(f"{name}.{col.name}: not {col.kind}: {filled[value.isna()][:3]}")
            if col.allowed is not None and not filled.isin([str(a) for a in col.allowed]).all():
                problems.append(f"{name}.{col.name}: {set(filled) - set(map(str, col.allowed))}")
            if col.min is not None and (value < col.min).any():
                problems.append(f"{name}.{col.name}: below {col.min}")
            if col.max is not None and (value > col.max).any():
                problems.append(f"{name}.{col.name}: above {col.max}")
            if col.references:
                target, key = col.references.split(".")
                if not filled.isin(set(data[target][key])).all():
                    problems.append(f"{name}.{col.name}: not in {col.references}")
        if table.key and df.duplicated(list(table.key)).any():
            problems.append(f"{name}: duplicate key {table.key}")
    ordered = [
        ("randomisation", "referral_date", "randomised_date"),
        ("withdrawals", "randomised_date", "withdrawal_date"),
        ("support", "start_date", "end_date"),
        ("volunteers", "start_date", "end_date"),
        ("costs", "period_start", "period_end"),
    ]
    dated = {
        "randomisation": data["randomisation"].merge(data["referrals"], on="family_id"),
        "withdrawals": data["withdrawals"].merge(data["randomisation"], on="family_id"),
    }
    for name, first, then in ordered:
        df = dated.get(name, data[name])
        if (iso(df[then]) < iso(df[first])).any():
            problems.append(f"{name}: {then} before {first}")
    episodes = data["ssda903_episodes"]
    if (dmy(episodes["DEC"]) < dmy(episodes["DECOM"])).any():
        problems.append("ssda903_episodes: DEC before DECOM")
    if not ((episodes["DEC"] == "") == (episodes["REC"] == "")).all():
        problems.append("ssda903_episodes: REC given without DEC or DEC without REC")
    header_keys = set(zip(data["ssda903_header"]["la_code"], data["ssda903_header"]["CHILD"]))
    if not set(zip(episodes["la_code"], episodes["CHILD"])) <= header_keys:
        problems.append("ssda903_episodes: child not in the header of its LA")
    return problems


def test_tables_keep_the_contract(small: Path) -> None:
    assert contract_problems(small) == []


def test_the_contract_validator_accepts_the_demo(small: Path) -> None:
    instruments = yaml.safe_load(CONFIG_INSTRUMENTS.read_text(encoding="utf-8"))["instruments"]
    result = contract.validate_dir(small, contract.read_hubs(small / "hubs.tsv"), instruments)
    assert [str(p) for p in result.problems] == []


def test_generator_instruments_match_the_config() -> None:
    config = yaml.safe_load(CONFIG_INSTRUMENTS.read_text(encoding="utf-8"))["instruments"]
    assert {i.name for i in synth.INSTRUMENTS} == set(config)
    for inst in synth.INSTRUMENTS:
        spec = config[inst.name]
        assert (inst.rates, inst.items) == (spec["rates"], spec["items"])
        assert (inst.low, inst.high) == (spec["response_min"], spec["response_max"])
        assert list(inst.reverse) == spec["reverse"]
        if spec["subscales"]:
            assert {k: list(v) for k, v in inst.subscales.items()} == spec["subscales"]


# --- the trial's structure -------------------------------------------------------------------
def test_referral_flow(small: Path) -> None:
    ref = read(small, "referrals")
    rand = read(small, "randomisation").merge(ref, on="family_id", how="left")
    randomised = ref["family_id"].isin(rand["family_id"])
    assert (randomised == (ref["reason_not_randomised"] == "")).all()
    assert ((ref["eligible"] == "true") & (ref["consented"] == "true"))[randomised].all()
    assert ((ref["consented"] == "") == (ref["eligible"] == "false")).all()
    delay = (iso(rand["randomised_date"]) - iso(rand["referral_date"])).dt.days
    assert delay.between(0, synth.MAX_DAYS_TO_RANDOMISATION).all()
    assert (rand["stratum"] == rand["block_id"].str.rsplit("|", n=1).str[0]).all()


def test_arms_are_balanced_within_blocks(default: Path) -> None:
    rand = read(default, "randomisation")
    las, ref = read(default, "las"), read(default, "referrals")
    hub = ref.merge(las, on="la_code").set_index("family_id")["hub_id"]
    group = ref.set_index("family_id")["referral_group"]
    expected = hub.loc[rand["family_id"]] + "|" + group.loc[rand["family_id"]]
    assert (rand["stratum"].to_numpy() == expected.to_numpy()).all()
    rand["block"] = rand["block_id"].str.rsplit("|B", n=1).str[1].astype(int)
    blocks = pd.crosstab([rand["stratum"], rand["block"]], rand["arm"]).reset_index()
    size = blocks["sffc"] + blocks["usual"]
    last = blocks["block"] == blocks.groupby("stratum")["block"].transform("max")  # may be cut
    assert (blocks.loc[~last, "sffc"] == blocks.loc[~last, "usual"]).all()
    assert size[~last].isin(synth.BLOCK_SIZES).all()
    assert (size[last] <= max(synth.BLOCK_SIZES)).all()
    assert (blocks.loc[last, ["sffc", "usual"]] <= max(synth.BLOCK_SIZES) // 2).all().all()
    per_stratum = rand.groupby("stratum")["arm"].value_counts().unstack(fill_value=0)
    assert ((per_stratum["sffc"] - per_stratum["usual"]).abs() <= max(synth.BLOCK_SIZES) // 2).all()


def completed_years(at: pd.Series, born: pd.Series) -> pd.Series:
    before_birthday = (at.dt.month * 100 + at.dt.day) < (born.dt.month * 100 + born.dt.day)
    return at.dt.year - born.dt.year - before_birthday


def test_children(small: Path) -> None:
    ref, kids = read(small, "referrals"), read(small, "children")
    counts = kids.groupby("family_id").size()
    assert (counts.loc[ref["family_id"]].to_numpy() == ref["n_children"].astype(int)).all()
    kids = kids.merge(ref, on="family_id")
    age = completed_years(iso(kids["referral_date"]), iso(kids["dob"]))
    index = kids["index_child"] == "true"
    assert kids.loc[index, "family_id"].is_unique and index.sum() == len(ref)
    assert age[index].between(4, 10).all()
    assert age.between(0, 17).all() and (iso(kids["dob"]) <= iso(kids["referral_date"])).all()


def test_follow_up_stops_at_withdrawal_and_24_months(default: Path) -> None:
    rand = read(default, "randomisation")
    wd = read(default, "withdrawals").merge(rand, on="family_id")
    events = read(default, "care_events").merge(rand, on="family_id")
    day = (iso(events["event_date"]) - iso(events["randomised_date"])).dt.days
    assert day.between(1, synth.FOLLOW_UP_DAYS).all()
    measures = read(default, "measures")
    for table, date in ((events, "event_date"), (measures, "completed_date")):
        after = table.merge(wd[["family_id", "withdrawal_date"]], on="family_id")
        assert (iso(after[date]) <= iso(after["withdrawal_date"])).all()
    no_consent = wd.loc[wd["data_use_consent"] == "false", "family_id"]
    assert len(no_consent) > 0
    week8 = measures[measures["timepoint"] == "week8"]
    assert not week8["family_id"].isin(no_consent).any()
    entries = events[events["event_type"] == "care_entry"]
    assert (entries["legal_status"] != "").all() and entries["child_id"].str.len().gt(0).all()


def test_support_goes_mostly_to_sffc_families_from_active_hub_volunteers(default: Path) -> None:
    rand, support = read(default, "randomisation"), read(default, "support")
    vols = read(default, "volunteers")
    arm = rand.set_index("family_id")["arm"]
    share = rand.assign(got=rand["family_id"].isin(support["family_id"])).groupby("arm")["got"]
    assert share.mean()["sffc"] == pytest.approx(synth.SUPPORTED_SHARE["sffc"], abs=0.06)
    assert share.mean()["usual"] < 0.05
    assert (arm.loc[support["family_id"]] == "sffc").mean() > 0.95
    done = support.merge(vols, on="volunteer_id", suffixes=("", "_v"))
    active = (iso(done["start_date_v"]) <= iso(done["start_date"])) & (
        (done["end_date_v"] == "") | (iso(done["end_date_v"]) >= iso(done["start_date"]))
    )
    assert active.all()
    hosting = support[support["support_type"] == "hosting"]
    assert hosting["nights"].astype(int).between(1, 10).all()


# --- planted truth ---------------------------------------------------------------------------
def simple_scores(measures: pd.DataFrame) -> pd.DataFrame:
    """SDQ total difficulties (reverse items flipped, subscales prorated from 3 of 5 items and
    rounded half up), GAD-7 sum (prorated from 6 of 7) and MSPSS mean (9 of 12), per family
    and timepoint."""
    m = measures.assign(
        response=pd.to_numeric(measures["response"]), item=measures["item"].astype(int)
    )
    wide = {
        name: m[m["instrument"] == name].pivot_table(
            index=["family_id", "timepoint"], columns="item", values="response", dropna=False
        )
        for name in ("sdq", "gad7", "mspss")
    }
    sdq = wide["sdq"].copy()
    reverse = [7, 11, 14, 21, 25]
    sdq[reverse] = 2 - sdq[reverse]
    difficulty = [(3, 8, 13, 16, 24), (5, 7, 12, 18, 22), (2, 10, 15, 21, 25), (6, 11, 14, 19, 23)]
    total = sum(
        np.floor(sdq[list(items)].mean(axis=1) * 5 + 0.5).where(
            sdq[list(items)].notna().sum(axis=1) >= 3
        )
        for items in difficulty
    )
    gad = wide["gad7"]
    gad_total = np.floor(gad.mean(axis=1) * 7 + 0.5).where(gad.notna().sum(axis=1) >= 6)
    mspss = wide["mspss"]
    return pd.DataFrame(
        {
            "sdq": total,
            "gad7": gad_total,
            "mspss": mspss.mean(axis=1).where(mspss.notna().sum(axis=1) >= 9),
        }
    )


def ancova(scores: pd.DataFrame, arm: pd.Series, outcome: str) -> tuple[float, float]:
    """The SFFC coefficient (and its SE) of week 8 on baseline and arm, complete cases."""
    wide = scores[outcome].unstack("timepoint").join(arm).dropna()
    x = np.column_stack([np.ones(len(wide)), wide["baseline"], wide["arm"] == "sffc"]).astype(float)
    y = wide["week8"].to_numpy()
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    cov = resid @ resid / (len(y) - x.shape[1]) * np.linalg.inv(x.T @ x)
    return float(beta[2]), float(np.sqrt(cov[2, 2]))


def test_planted_outcome_effects_are_recovered(default: Path) -> None:
    truth = json.loads((default / "truth.json").read_text())["effects"]
    scores = simple_scores(read(default, "measures"))
    arm = read(default, "randomisation").set_index("family_id")["arm"]
    est, se = ancova(scores, arm, "sdq")
    assert abs(est - truth["sdq_total_difference"]) < Z95 * se, (est, se)
    for outcome, key in (("gad7", "gad7_difference"), ("mspss", "mspss_difference")):
        est, se = ancova(scores, arm, outcome)
        assert abs(est - truth[key]) < Z999 * se, (outcome, est, se)
    baseline = scores.xs("baseline", level="timepoint")
    assert baseline["sdq"].mean() == pytest.approx(16, abs=1)
    assert baseline["sdq"].std() == pytest.approx(6, abs=1)
    assert baseline["gad7"].mean() == pytest.approx(9, abs=1)
    assert baseline["mspss"].mean() == pytest.approx(4.2, abs=0.2)
    r = scores["sdq"].unstack("timepoint").corr().loc["baseline", "week8"]
    assert 0.4 < r < 0.7


def test_missing_week8_and_items(default: Path) -> None:
    measures, rand = read(default, "measures"), read(default, "randomisation")
    seen = rand["family_id"].isin(measures.loc[measures["timepoint"] == "week8", "family_id"])
    missing = 1 - seen.groupby(rand["arm"]).mean()
    assert missing["usual"] > missing["sffc"] and 0.08 < (1 - seen.mean()) < 0.25
    assert 0.01 < (measures["response"] == "").mean() < 0.04


def test_truth_file(default: Path) -> None:
    truth = json.loads((default / "truth.json").read_text())
    assert truth["effects"] == json.loads(json.dumps(synth.TRUE_EFFECTS))
    assert truth["seed"] == synth.DEFAULT_SEED
    assert truth["sizes"]["n_randomised"] == len(read(default, "randomisation"))
    assert truth["sizes"]["n_families"] == 1055


def test_ssda903_periods_and_the_planted_profile(default: Path) -> None:
    header, ep = read(default, "ssda903_header"), read(default, "ssda903_episodes")
    ep = ep.assign(start=dmy(ep["DECOM"]), end=dmy(ep["DEC"])).sort_values(
        ["la_code", "CHILD", "start"]
    )
    same_child = (ep["la_code"] == ep["la_code"].shift(-1)) & (ep["CHILD"] == ep["CHILD"].shift(-1))
    next_start = ep["start"].shift(-1)
    x1 = ep["REC"] == "X1"
    # X1: the next episode of the same child starts that day
    assert (same_child & (ep["end"] == next_start))[x1].all()
    assert (ep["RNE"].shift(-1) == "S")[same_child & ~x1].all()  # otherwise a new period follows
    assert (ep["DEC"] == "")[same_child].sum() == 0  # only a child's last episode is open
    assert ep.groupby(["la_code", "CHILD"])["RNE"].first().eq("S").all()
    assert (ep["end"] > pd.Timestamp(synth.S903_EXTRACT_DATE)).sum() == 0
    assert (ep["DEC"] == "").any() and (ep["RNE"] != "S").any()
    assert 5_000 <= len(ep) <= 15_000
    assert header["UPN"].str.fullmatch(r"([A-Z]\d{12})?").all()

    ep["period"] = (ep["RNE"] == "S").cumsum()
    periods = ep.groupby("period").agg(
        la_code=("la_code", "first"), CHILD=("CHILD", "first"), start=("start", "first"),
        last_dec=("DEC", "last"), all_v2=("LS", lambda ls: (ls == "V2").all()),
    )  # fmt: skip
    periods["end"] = dmy(periods["last_dec"])  # empty when the period is still open
    periods = periods.merge(header, on=["la_code", "CHILD"])
    at = periods["start"]
    age = completed_years(at, dmy(periods["DOB"]))
    fits = (age <= 10) & periods["all_v2"] & ((periods["end"] - at).dt.days < 14)
    first = periods.groupby(["la_code", "CHILD"])["start"].transform("min") == at
    realised = json.loads((default / "truth.json").read_text())["realised"]["ssda903"]
    assert int(fits[first].sum()) == realised["profile_children"]
    assert not fits[~first].any()
    assert fits[first].mean() == pytest.approx(synth.PROFILE_SHARE, abs=0.02)
    assert 0.4 < (ep.loc[ep["RNE"] == "S", "LS"] == "V2").mean() < 0.65


def test_las_are_plausible(default: Path) -> None:
    las = read(default, "las")
    assert las["la_code"].str.fullmatch(r"E(06|08|09|10)\d{6}").all() and las["la_code"].is_unique
    assert las["la_name"].is_unique
    assert las["child_population"].astype(int).between(20_000, 120_000).all()
    assert las["cla_rate_per_10k"].astype(float).between(50, 110).all()
    assert las["deprivation_rank"].astype(int).between(1, 317).all()


# --- national SSDA903 (need at national scale) -----------------------------------------------
NATIONAL = {"n_las": 12, "n_episodes": 6_000, "seed": 5}
NATIONAL_FILES = ("las.csv", "ssda903_header.csv", "ssda903_episodes.csv")


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("national")
    synth.write_national_ssda903(out, **NATIONAL)
    return out


def test_national_903_keeps_the_contract(national: Path) -> None:
    assert sorted(p.name for p in national.iterdir()) == sorted(
        [*NATIONAL_FILES, "hubs.tsv", "national.json"]
    )
    result = contract.validate_dir(national, contract.read_hubs(national / "hubs.tsv"), {})
    ours = [str(p) for p in result.problems if p.file in NATIONAL_FILES]
    assert ours == []
    # the only other problems: the trial's tables are not there
    assert {p.rule for p in result.problems if p.file not in NATIONAL_FILES} == {"file exists"}
    las, episodes = read(national, "las"), read(national, "ssda903_episodes")
    assert len(las) == 12 and las["la_code"].str.fullmatch(r"E(06|08|09|10)\d{6}").all()
    assert set(episodes["la_code"]) == set(las["la_code"])
    assert len(episodes) == pytest.approx(NATIONAL["n_episodes"], rel=0.15)
    assert dmy(episodes["DECOM"]).min() >= pd.Timestamp(synth.NATIONAL_WINDOW_START)
    facts = json.loads((national / "national.json").read_text())
    assert facts["episodes"] == len(episodes) and facts["n_las"] == 12


def test_national_903_is_deterministic_by_seed(national: Path, tmp_path: Path) -> None:
    synth.write_national_ssda903(tmp_path / "again", **NATIONAL)
    synth.write_national_ssda903(tmp_path / "other", **{**NATIONAL, "seed": 6})
    for name in NATIONAL_FILES:
        assert (tmp_path / "again" / name).read_bytes() == (national / name).read_bytes()
    assert (tmp_path / "other/ssda903_episodes.csv").read_bytes() != (
        national / "ssda903_episodes.csv"
    ).read_bytes()


def test_national_903_plants_the_profile_share() -> None:
    facts = synth.national_ssda903(n_las=60, n_episodes=60_000).facts
    assert facts["episodes"] == pytest.approx(60_000, rel=0.1)
    assert facts["profile_share_children"] == pytest.approx(synth.PROFILE_SHARE, abs=0.01)


def test_national_903_is_quick() -> None:
    started = time.perf_counter()
    synth.national_ssda903(n_episodes=200_000)
    assert time.perf_counter() - started < 10  # vectorised: about 1 s here
