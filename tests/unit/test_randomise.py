"""Randomisation: reproducible sequence, balance within blocks, and a log that never reallocates."""

import re

import pandas as pd
import pytest

from psp_eval.analyses import randomisation as randomise
from psp_eval.analyses.randomisation import RandomisationError

HUBS = ["leeds", "bristol"]


def test_same_seed_same_sequence_and_another_seed_another():
    a = randomise.allocation_sequence(HUBS, 50, seed=11)
    b = randomise.allocation_sequence(HUBS, 50, seed=11)
    c = randomise.allocation_sequence(HUBS, 50, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not a["arm"].equals(c["arm"])


def test_a_stratum_does_not_depend_on_the_other_hubs():
    alone = randomise.allocation_sequence(["leeds"], 40, seed=5)
    together = randomise.allocation_sequence(["bristol", "leeds"], 40, seed=5)
    leeds = together[together["hub_id"] == "leeds"].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, leeds)


def test_every_stratum_has_whole_balanced_blocks_of_the_allowed_sizes():
    seq = randomise.allocation_sequence(HUBS, 101, seed=3)
    assert set(seq["stratum"]) == {f"{h}|{g}" for h in HUBS for g in ("emerging", "edge_of_care")}
    assert (seq.groupby("stratum").size() >= 101).all()
    assert set(seq["block_size"]) == {2, 4}
    per_block = seq.groupby(["block_id", "arm"]).size().unstack()
    assert (per_block["sffc"] == per_block["usual"]).all()
    assert (seq.groupby("block_id").size() == seq.groupby("block_id")["block_size"].first()).all()


@pytest.mark.parametrize("seed", range(5))
def test_arms_balanced_within_each_stratum_to_within_one_block_at_every_point(seed):
    seq = randomise.allocation_sequence(HUBS, 200, seed=seed, block_sizes=(2, 4, 6))
    table = randomise.balance(seq)
    assert (table["max_imbalance"] <= 6 // 2).all()
    assert (table["imbalance"] == 0).all()  # whole blocks: exactly 1:1 at the end


def test_bad_block_sizes_are_refused():
    with pytest.raises(RandomisationError, match="multiples of 2"):
        randomise.allocation_sequence(HUBS, 10, seed=1, block_sizes=(3,))


@pytest.fixture
def sequence_file(tmp_path):
    path = tmp_path / "sequence.csv"
    digest = randomise.write_sequence(
        randomise.allocation_sequence(HUBS, 4, seed=9, block_sizes=(4,)), path
    )
    assert len(digest) == 64
    return path


def test_allocation_follows_the_sequence_within_each_stratum(sequence_file, tmp_path):
    log = tmp_path / "log.csv"
    seq = randomise.read_sequence(sequence_file)
    got = [
        randomise.allocate(
            sequence_file, log, f"F{i}", "leeds", "emerging", allocated_at=f"2025-01-0{i + 1}"
        )
        for i in range(4)
    ]
    expected = seq.loc[seq["stratum"] == "leeds|emerging", "arm"].tolist()
    assert [a.arm for a in got] == expected
    other = randomise.allocate(
        sequence_file, log, "G1", "bristol", "emerging", allocated_at="2025-01-05"
    )
    assert other.position == 1
    assert len(randomise.read_log(log)) == 5


def test_the_log_refuses_to_reallocate_a_family(sequence_file, tmp_path):
    log = tmp_path / "log.csv"
    first = randomise.allocate(
        sequence_file, log, "F1", "leeds", "emerging", allocated_at="2025-01-01"
    )
    before = log.read_bytes()
    with pytest.raises(RandomisationError, match="F1 was allocated already.*never reallocated"):
        randomise.allocate(sequence_file, log, "F1", "leeds", "emerging", allocated_at="2025-01-02")
    with pytest.raises(
        RandomisationError, match="allocated already"
    ):  # not in another stratum either
        randomise.allocate(
            sequence_file, log, "F1", "bristol", "edge_of_care", allocated_at="2025-01-02"
        )
    assert log.read_bytes() == before, "a refused allocation must leave the log untouched"
    assert randomise.read_log(log)["arm"].tolist() == [first.arm]


def test_a_used_up_or_unknown_stratum_is_refused(sequence_file, tmp_path):
    log = tmp_path / "log.csv"
    for i in range(4):
        randomise.allocate(
            sequence_file, log, f"F{i}", "leeds", "emerging", allocated_at="2025-01-01"
        )
    with pytest.raises(RandomisationError, match="used all 4 positions"):
        randomise.allocate(sequence_file, log, "F9", "leeds", "emerging", allocated_at="2025-01-01")
    with pytest.raises(RandomisationError, match=re.escape("no stratum 'york|emerging'")):
        randomise.allocate(sequence_file, log, "F9", "york", "emerging", allocated_at="2025-01-01")


def test_an_existing_sequence_is_not_replaced(sequence_file):
    with pytest.raises(RandomisationError, match="not replaced"):
        randomise.write_sequence(randomise.allocation_sequence(HUBS, 4, seed=1), sequence_file)


def test_cli_writes_a_reproducible_sequence_and_refuses_reallocation(tmp_path, capsys):
    from psp_eval.cli import main

    hubs = tmp_path / "hubs.tsv"
    hubs.write_text("hub_id\thub_name\tnation\trecruitment_target\nleeds\tLeeds\tEngland\t10\n")
    for name in ("a.csv", "b.csv"):
        assert (
            main(
                [
                    "randomise",
                    "sequence",
                    "--hubs",
                    str(hubs),
                    "--per-stratum",
                    "10",
                    "--seed",
                    "4",
                    "--out",
                    str(tmp_path / name),
                ]
            )
            == 0
        )
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    args = [
        "randomise",
        "allocate",
        "F1",
        "--hub",
        "leeds",
        "--group",
        "emerging",
        "--sequence",
        str(tmp_path / "a.csv"),
        "--log",
        str(tmp_path / "log.csv"),
        "--date",
        "2025-01-01",
    ]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 1
    assert "never reallocated" in capsys.readouterr().err
