"""The data contract: a small valid trial folder validates clean, and each kind of broken rule
is reported with its file, spreadsheet row, column and value."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from psp_eval.data.contract import (
    TABLES,
    ContractError,
    load_dir,
    read_hubs,
    validate_dir,
    write_clean,
)

INSTRUMENTS = {
    "sdq": {"items": 25, "response_min": 0, "response_max": 2, "rates": "child"},
    "gad7": {"items": 7, "response_min": 0, "response_max": 3, "rates": "parent"},
    "mspss": {"items": 12, "response_min": 1, "response_max": 7, "rates": "parent"},
}

# A minimal valid trial: 2 hubs with one LA each, 4 referred families of which 3 randomised,
# F3 withdrawn (data use allowed). Data row i of each table is spreadsheet row i + 2.
VALID = {
    "las": """\
la_code,la_name,hub_id,nation,child_population,cla_rate_per_10k,deprivation_rank
E08000021,Newcastle upon Tyne,newcastle,England,60000,90.5,50
E08000035,Leeds,leeds,England,170000,80.1,30
""",
    "referrals": """\
family_id,la_code,referral_date,referral_source,referral_group,n_children,eligible,consented,reason_not_randomised
F1,E08000021,2024-01-10,health,emerging,2,true,yes,
F2,E08000035,2024-01-12,early_help,edge_of_care,1,TRUE,1,
F3,E08000035,2024-01-15,self,emerging,1,true,true,
F4,E08000021,2024-01-16,police,emerging,1,false,,not eligible
""",
    "randomisation": """\
family_id,randomised_date,arm,stratum,block_id
F1,2024-01-20,sffc,newcastle-emerging,B1
F2,2024-01-21,usual,leeds-edge_of_care,B2
F3,2024-01-22,sffc,leeds-emerging,B2
""",
    "children": """\
child_id,family_id,dob,sex,ethnicity,index_child
C1,F1,2015-03-01,female,white,true
C2,F1,2018-07-12,male,mixed,false
C3,F2,2012-11-30,male,black,true
C4,F3,2016-01-05,female,asian,true
C5,F4,2017-05-05,male,not_stated,true
""",
    "measures": """\
family_id,child_id,instrument,timepoint,item,response,completed_date
F1,C1,sdq,baseline,1,1,2024-01-15
F1,C1,sdq,week8,1,2,2024-03-20
F1,,gad7,baseline,1,3,2024-01-15
F1,,mspss,baseline,1,7,2024-01-15
F2,C3,sdq,baseline,25,0,2024-01-18
F2,C3,sdq,baseline,24,,2024-01-18
F3,,gad7,week8,7,2,2024-03-25
""",
    "support": """\
episode_id,family_id,volunteer_id,support_type,start_date,end_date,nights,hours
E1,F1,V1,hosting,2024-02-01,2024-02-03,2,
E2,F3,V2,friendship,2024-02-05,,,3.5
""",
    "care_events": """\
family_id,child_id,event_type,event_date,legal_status,nights
F2,C3,assessment,2024-05-01,,
F2,C3,care_entry,2024-06-01,C2,
F1,,re_referral,2024-09-01,,
""",
    "volunteers": """\
volunteer_id,hub_id,role,start_date,end_date,has_children
V1,newcastle,host,2023-06-01,,true
V2,leeds,friend,2023-07-01,2024-12-31,no
""",
    "surveys": """\
respondent_type,respondent_id,hub_id,timepoint,question_id,response,theme
family,F1,newcastle,baseline,q1,4,
volunteer,V1,newcastle,week8,q1,5,belonging
""",
    "costs": """\
hub_id,period_start,period_end,category,amount_gbp,price_year
newcastle,2024-01-01,2024-03-31,staff,12000.50,2024
central,2024-01-01,2024-03-31,central,5000,2024
""",
    "withdrawals": """\
family_id,withdrawal_date,reason,data_use_consent
F3,2024-04-01,moved away,true
""",
    "ssda903_header": """\
la_code,CHILD,SEX,DOB,ETHNIC,UPN
E08000035,C903A,1,15/03/2012,WBRI,
E08000035,C903B,2,01/01/2015,BAFR,A123456789012
""",
    "ssda903_episodes": """\
la_code,CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC
E08000035,C903A,01/02/2023,S,C2,N1,U1,PR1,01/06/2023,E11
E08000035,C903B,05/05/2023,S,V2,N2,K2,,,
""",
}


@pytest.fixture
def hubs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hub_id": ["newcastle", "leeds"],
            "hub_name": ["Newcastle and Tyneside", "Leeds and West Yorkshire"],
            "nation": ["England", "England"],
            "recruitment_target": [170, 170],
        }
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    for name, text in VALID.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def edit(folder: Path, table: str, old: str, new: str) -> None:
    """Replace text in one table's CSV (exactly once, so a test cannot edit the wrong cell)."""
    path = folder / f"{table}.csv"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in {table}.csv"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(folder: Path, table: str, line: str) -> None:
    with open(folder / f"{table}.csv", "a", encoding="utf-8") as f:
        f.write(line + "\n")


def messages(folder: Path, hubs: pd.DataFrame, level: str = "errors") -> list[str]:
    return [str(p) for p in getattr(validate_dir(folder, hubs, INSTRUMENTS), level)]


def only(found: list[str]) -> str:
    assert len(found) == 1, "\n".join(found)
    return found[0]


def test_valid_folder_validates_clean_and_typed(data_dir, hubs):
    result = validate_dir(data_dir, hubs, INSTRUMENTS)
    assert result.problems == (), "\n".join(map(str, result.problems))
    assert result.ok
    assert set(result.tables) == set(TABLES)
    referrals = result.tables["referrals"]
    assert referrals["family_id"].dtype == "string"
    assert referrals["n_children"].dtype == "Int64"
    assert referrals["consented"].tolist() == [True, True, True, pd.NA]
    assert pd.isna(referrals.loc[0, "reason_not_randomised"])
    assert result.tables["las"]["cla_rate_per_10k"].dtype == "float64"
    assert result.tables["randomisation"]["randomised_date"].dtype == "datetime64[ns]"
    assert result.tables["ssda903_header"]["DOB"][0] == pd.Timestamp("2012-03-15")
    assert result.tables["volunteers"]["has_children"].tolist() == [True, False]


def test_bad_arm_value_is_quoted(data_dir, hubs):
    edit(data_dir, "randomisation", "F1,2024-01-20,sffc", "F1,2024-01-20,SFFC ")
    edit(data_dir, "randomisation", "F3,2024-01-22,sffc", "F3,2024-01-22,sfc")
    assert only(messages(data_dir, hubs)) == (
        "randomisation.csv, rows 2, 4: column 'arm' breaks rule "
        "'allowed values: sffc, usual' (found 'SFFC ' (meant 'sffc'?), 'sfc' (meant 'sffc'?))"
    )


def test_duplicate_key_names_every_row(data_dir, hubs):
    append(data_dir, "referrals", "F1,E08000021,2024-01-11,health,emerging,1,true,true,")
    message = only(messages(data_dir, hubs))
    assert message.startswith("referrals.csv, rows 2, 6: column 'family_id'")
    assert "'unique key (family_id)' (found 'F1')" in message


def test_response_outside_the_instrument_range(data_dir, hubs):
    edit(data_dir, "measures", "F1,C1,sdq,week8,1,2,", "F1,C1,sdq,week8,1,3,")
    assert only(messages(data_dir, hubs)) == (
        "measures.csv, row 3: column 'response' breaks rule 'response 0..2 for sdq' (found '3')"
    )


def test_item_beyond_the_instrument(data_dir, hubs):
    edit(data_dir, "measures", "F1,,gad7,baseline,1,", "F1,,gad7,baseline,8,")
    assert "row 4: column 'item' breaks rule 'item 1..7 for gad7' (found '8')" in only(
        messages(data_dir, hubs)
    )


def test_unknown_la_code(data_dir, hubs):
    edit(data_dir, "referrals", "F2,E08000035", "F2,E99999999")
    assert only(messages(data_dir, hubs)) == (
        "referrals.csv, row 3: column 'la_code' breaks rule 'references las.la_code' "
        "(found 'E99999999')"
    )


def test_missing_file(data_dir, hubs):
    (data_dir / "costs.csv").unlink()
    message = only(messages(data_dir, hubs))
    assert message.startswith(
        "costs.csv: breaks rule 'file exists' (found no costs.csv or costs.parquet"
    )


def test_missing_column_names_a_near_miss(data_dir, hubs):
    edit(data_dir, "randomisation", ",arm,", ",Arm ,")
    assert only(messages(data_dir, hubs)) == (
        "randomisation.csv: column 'arm' breaks rule 'column is present' "
        "(found not in the header, which has 'Arm ')"
    )


def test_table_missing_a_column_is_left_out_of_cross_checks(data_dir, hubs):
    edit(data_dir, "randomisation", ",stratum,", ",strat,")
    result = validate_dir(data_dir, hubs, INSTRUMENTS)
    # One error (no cascade of "F1 is not randomised" errors), and the unknown column warns.
    assert [p.column for p in result.errors] == ["stratum"]
    assert "randomisation" not in result.tables


def test_extra_column_warns_and_is_dropped(data_dir, hubs):
    path = data_dir / "volunteers.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line + ",x" for line in lines) + "\n")  # header gets a column 'x'
    result = validate_dir(data_dir, hubs, INSTRUMENTS)
    assert result.ok
    assert only([str(p) for p in result.warnings]) == (
        "volunteers.csv: column 'x' breaks rule 'known column' "
        "(found not a column of volunteers; ignored)"
    )
    assert "x" not in result.tables["volunteers"].columns


def test_not_utf8(data_dir, hubs):
    text = VALID["las"].replace("Leeds,leeds", "Léeds,leeds")
    (data_dir / "las.csv").write_bytes(text.encode("latin-1"))
    found = messages(data_dir, hubs)
    assert found[0] == (
        "las.csv, row 3: column 'la_name' breaks rule 'is UTF-8 text' "
        "(found 'L\\xe9eds'; save the file as \"CSV UTF-8\")"
    )
    assert len(found) == 1  # tables that reference las are not checked against a missing table


def test_not_utf8_in_the_header_and_in_several_cells(data_dir, hubs):
    text = VALID["las"].replace("la_name", "la_nåme").replace("Leeds,leeds", "Léeds,leeds")
    text = text.replace("Newcastle upon", "Newcastlé upon")
    (data_dir / "las.csv").write_bytes(text.encode("cp1252"))
    found = messages(data_dir, hubs)
    assert found == [
        "las.csv, row 1: breaks rule 'is UTF-8 text' "
        "(found 'la_n\\xe5me'; save the file as \"CSV UTF-8\")",
        "las.csv, rows 2, 3: column 'la_n\\xe5me' breaks rule 'is UTF-8 text' "
        "(found 'Newcastl\\xe9 upon Tyne', 'L\\xe9eds'; save the file as \"CSV UTF-8\")",
    ]


def test_parquet_tables_are_checked_like_csv_and_for_their_stored_types(data_dir, hubs):
    typed = validate_dir(data_dir, hubs, INSTRUMENTS).tables["randomisation"]
    (data_dir / "randomisation.csv").unlink()
    typed.to_parquet(data_dir / "randomisation.parquet")
    assert messages(data_dir, hubs) == []
    as_text = typed.assign(randomised_date=typed["randomised_date"].dt.strftime("%Y-%m-%d"))
    as_text.assign(arm=["sffc", "SFFC", "usual"]).to_parquet(data_dir / "randomisation.parquet")
    assert messages(data_dir, hubs) == [
        "randomisation.parquet: column 'randomised_date' breaks rule "
        "'Parquet type date or timestamp' (found string)",
        "randomisation.parquet, row 3: column 'arm' breaks rule 'allowed values: sffc, usual' "
        "(found 'SFFC' (meant 'sffc'?))",
    ]


def test_excel_csv_utf8_with_bom_and_crlf_is_read(data_dir, hubs):
    text = VALID["las"].replace("\n", "\r\n")
    (data_dir / "las.csv").write_bytes("\ufeff".encode() + text.encode())
    assert validate_dir(data_dir, hubs, INSTRUMENTS).problems == ()


def test_empty_file(data_dir, hubs):
    (data_dir / "withdrawals.csv").write_text("")
    assert only(messages(data_dir, hubs)) == (
        "withdrawals.csv: breaks rule 'has a header row' (found an empty file)"
    )


def test_header_only_table_is_valid(data_dir, hubs):
    (data_dir / "withdrawals.csv").write_text(VALID["withdrawals"].splitlines()[0] + "\n")
    result = validate_dir(data_dir, hubs, INSTRUMENTS)
    assert result.ok
    assert result.tables["withdrawals"].empty
    assert result.tables["withdrawals"]["withdrawal_date"].dtype == "datetime64[ns]"


def test_semicolon_delimiter(data_dir, hubs):
    (data_dir / "withdrawals.csv").write_text(VALID["withdrawals"].replace(",", ";"))
    assert only(messages(data_dir, hubs)) == (
        "withdrawals.csv: breaks rule 'expected comma-separated' (found a semicolon-separated "
        "header 'family_id;withdrawal_date;reason;data_use_consent')"
    )


def test_bad_dates(data_dir, hubs):
    edit(data_dir, "randomisation", "2024-01-21", "21/01/2024")
    edit(data_dir, "ssda903_header", "15/03/2012", "2012-03-15")
    assert messages(data_dir, hubs) == [
        "randomisation.csv, row 3: column 'randomised_date' breaks rule 'is a date (yyyy-mm-dd)' "
        "(found '21/01/2024')",
        "ssda903_header.csv, row 2: column 'DOB' breaks rule 'is a date (dd/mm/yyyy)' "
        "(found '2012-03-15')",
    ]


def test_follow_up_before_randomisation(data_dir, hubs):
    edit(data_dir, "measures", "week8,1,2,2024-03-20", "week8,1,2,2024-01-05")
    assert only(messages(data_dir, hubs)) == (
        "measures.csv, row 3: column 'completed_date' breaks rule 'week8 on or after the "
        "family's randomised_date' (found '2024-01-05' (randomised '2024-01-20'))"
    )


def test_negative_nights(data_dir, hubs):
    edit(data_dir, "support", "2024-02-03,2,", "2024-02-03,-1,")
    assert only(messages(data_dir, hubs)) == (
        "support.csv, row 2: column 'nights' breaks rule '>= 0' (found '-1')"
    )


def test_unknown_instrument(data_dir, hubs):
    edit(data_dir, "measures", "F1,,mspss", "F1,,phq9")
    assert only(messages(data_dir, hubs)) == (
        "measures.csv, row 5: column 'instrument' breaks rule "
        "'configured instrument (gad7, mspss, sdq)' (found 'phq9')"
    )


def test_child_instrument_needs_a_child_of_the_same_family(data_dir, hubs):
    edit(data_dir, "measures", "F2,C3,sdq,baseline,25", "F2,C1,sdq,baseline,25")
    edit(data_dir, "measures", "F2,C3,sdq,baseline,24", "F2,,sdq,baseline,24")
    assert messages(data_dir, hubs) == [
        "measures.csv, row 6: column 'child_id' breaks rule "
        "'a child of the row's family_id' (found 'C1' (child of 'F1'))",
        "measures.csv, row 7: column 'child_id' breaks rule 'not empty for sdq (it rates a child)' "
        "(found '')",
    ]


def test_hub_in_data_not_in_config(data_dir, hubs):
    edit(data_dir, "volunteers", "V2,leeds", "V2,glasgow")
    assert only(messages(data_dir, hubs)) == (
        "volunteers.csv, row 3: column 'hub_id' breaks rule "
        "'references hubs.hub_id (the hubs sheet)' (found 'glasgow')"
    )


def test_hub_in_config_without_data(data_dir, hubs):
    more_hubs = pd.concat([hubs, hubs.iloc[[0]].assign(hub_id="bristol")], ignore_index=True)
    assert only(messages(data_dir, more_hubs)) == (
        "las.csv: column 'hub_id' breaks rule 'every hub of the hubs sheet has an LA' "
        "(found 'bristol' (in the hubs sheet, no LA here))"
    )


def test_cost_hub_must_be_a_hub_or_central(data_dir, hubs):
    edit(data_dir, "costs", "central,2024", "centre,2024")
    assert only(messages(data_dir, hubs)) == (
        "costs.csv, row 3: column 'hub_id' breaks rule 'a hub of the hubs sheet, or central' "
        "(found 'centre')"
    )


def test_ssda903_code_not_in_list(data_dir, hubs):
    edit(data_dir, "ssda903_episodes", "N2,K2", "N2,Z9")
    message = only(messages(data_dir, hubs))
    assert message.startswith(
        "ssda903_episodes.csv, row 3: column 'PLACE' breaks rule 'allowed values: A3, A4"
    )
    assert message.endswith("(found 'Z9')")


def test_ssda903_end_needs_a_reason_and_a_later_date(data_dir, hubs):
    edit(data_dir, "ssda903_episodes", "01/06/2023,E11", "01/01/2023,")
    assert messages(data_dir, hubs) == [
        "ssda903_episodes.csv, row 2: column 'DEC' breaks rule 'on or after DECOM' "
        "(found '01/01/2023' (DECOM '01/02/2023'))",
        "ssda903_episodes.csv, row 2: column 'REC' breaks rule 'given exactly when DEC is' "
        "(found '' (DEC '01/01/2023'))",
    ]


def test_episode_child_must_be_in_the_same_la_header(data_dir, hubs):
    edit(data_dir, "ssda903_episodes", "E08000035,C903B", "E08000021,C903B")
    assert "column 'CHILD' breaks rule 'references ssda903_header (la_code, CHILD)' " in only(
        messages(data_dir, hubs)
    )


def test_withdrawn_without_consent_but_has_week8_data(data_dir, hubs):
    edit(data_dir, "withdrawals", "moved away,true", "moved away,false")
    assert only(messages(data_dir, hubs)) == (
        "measures.csv, row 8: column 'family_id' breaks rule 'no week8 data for a family "
        "withdrawn without data-use consent' (found 'F3')"
    )


def test_randomisation_rules_of_referrals(data_dir, hubs):
    edit(data_dir, "referrals", "2,true,yes,", "2,true,no,")
    edit(
        data_dir, "referrals", "police,emerging,1,false,,not eligible", "police,emerging,1,false,,"
    )
    assert messages(data_dir, hubs) == [
        "referrals.csv, row 2: column 'consented' breaks rule 'true for a randomised family' "
        "(found 'no')",
        "referrals.csv, row 5: column 'reason_not_randomised' breaks rule "
        "'empty exactly when the family is randomised' (found '' (not randomised))",
    ]


def test_two_index_children(data_dir, hubs):
    edit(data_dir, "children", "male,mixed,false", "male,mixed,true")
    assert only(messages(data_dir, hubs)) == (
        "children.csv, rows 2, 3: column 'index_child' breaks rule "
        "'exactly one index child per randomised family' (found 'F1' has 2)"
    )


def test_row_with_wrong_number_of_fields(data_dir, hubs):
    append(data_dir, "surveys", "family,F2,leeds,baseline,q1,3")
    assert only(messages(data_dir, hubs)) == (
        "surveys.csv, row 4: breaks rule 'has 7 fields like the header' (found 6 fields)"
    )


def test_problems_in_several_files_are_reported_together(data_dir, hubs):
    edit(data_dir, "randomisation", "F2,2024-01-21,usual", "F2,2024-01-21,Usual")
    edit(data_dir, "support", "2024-02-03,2,", "2024-02-03,-1,")
    (data_dir / "costs.csv").unlink()
    with pytest.raises(ContractError) as raised:
        load_dir(data_dir, hubs, INSTRUMENTS)
    message = str(raised.value)
    assert message.splitlines()[0] == f"3 errors in {data_dir}:"
    assert [p.file for p in raised.value.problems] == [
        "randomisation.csv",
        "support.csv",
        "costs.csv",
    ]
    assert "'Usual'" in message and "'-1'" in message and "costs.csv" in message


def test_write_clean_round_trips_through_parquet(data_dir, hubs, tmp_path):
    tables = load_dir(data_dir, hubs, INSTRUMENTS)
    out = tmp_path / "clean"
    written = write_clean(tables, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)
    again = validate_dir(out, hubs, INSTRUMENTS)
    assert again.ok, "\n".join(map(str, again.problems))
    for name, df in tables.items():
        pd.testing.assert_frame_equal(again.tables[name], df, check_dtype=True)


def test_read_hubs(tmp_path):
    path = tmp_path / "hubs.tsv"
    path.write_text("hub_id\thub_name\tnation\trecruitment_target\nleeds\tLeeds\tEngland\t170\n")
    hubs = read_hubs(path)
    assert hubs["hub_id"].tolist() == ["leeds"]
    assert hubs["recruitment_target"].dtype == "Int64"


def test_read_hubs_reports_every_problem(tmp_path):
    path = tmp_path / "hubs.tsv"
    path.write_text("hub_id\thub_name\tnation\nleeds\tLeeds\tEngland\nleeds\tLeeds 2\tEngland\n")
    with pytest.raises(ContractError) as raised:
        read_hubs(path)
    assert [str(p) for p in raised.value.problems] == [
        "hubs.tsv: column 'recruitment_target' breaks rule 'column is present' "
        "(found not in the header)",
        "hubs.tsv, rows 2, 3: column 'hub_id' breaks rule 'unique key (hub_id)' (found 'leeds')",
    ]
