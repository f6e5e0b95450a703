"""The architecture commands: JSON contracts, explanations and one-line errors."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memattr.cli import main


def test_combine_json_contract(run):
    result = run("combine", "--s1", "0x44", "--s2", "0x1", "--json")
    assert result.code == 0
    data = result.json()
    assert data["memory_type"] == "Device-nGnRE"
    assert data["shareability"] == "OSH"
    assert [step["rule"] for step in data["explanation"]][-2] == "S2CombineS1MemAttrs"


def test_combine_reserved_gives_unpredictable(run):
    data = run("combine", "--s1", "0x10", "--s2", "0x5", "--json").json()
    assert data["memory_type"] == "UNPREDICTABLE"
    assert data["unpredictable"]["choices"]
    assert "Normal-iNC-oNC" in data["unpredictable"]["possible_memory_types"]


def test_combine_fwb_and_features(run):
    data = run("combine", "--s1", "0xf0", "--s2", "0x6", "--fwb", "--features", "MTE2", "--json").json()
    assert data["memory_type"] == "Normal-iWB-oWB" and data["tagged"] is True


def test_combine_text_explains(run):
    result = run("combine", "--s1", "0x44", "--s2", "0x1")
    assert result.code == 0
    assert "Device has precedence over Normal" in result.out


@pytest.mark.parametrize(
    "args",
    [
        ("combine", "--s1", "0x1ff", "--s2", "0x1"),
        ("combine", "--s1", "zz", "--s2", "0x1"),
        ("combine", "--s1", "0x44"),
        ("combine", "--s1", "0x44", "--s2", "0x10"),
        ("combine", "--s1", "0x44", "--s2", "1", "--features", "BOGUS"),
        ("decode", "mair-attr", "256"),
        ("decode", "mair", "0x1" + "0" * 16),
        ("decode", "s2", "-1"),
        ("decode", "pte", "0x0", "--stage", "1"),
        ("decode", "pte", "0x3", "--stage", "3"),
        ("table", "--json", "--csv"),
        ("nonsense",),
    ],
)
def test_bad_input_is_one_line_exit_2(run, args):
    result = run(*args)
    assert result.code == 2
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memattr: error:")
    assert "Traceback" not in result.err


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=20))
def test_fuzz_number_arguments(capsys, text):
    code = main(["combine", "--s1", text, "--s2", "0x1", "--json"])
    captured = capsys.readouterr()
    assert code in (0, 2)
    if code == 2:
        assert len(captured.err.strip().splitlines()) == 1


def test_decode_mair_json(run):
    data = run("decode", "mair", "0x000000000044ff04", "--json").json()
    assert [a["memory_type"] for a in data["attributes"][:3]] == ["Device-nGnRE", "Normal-iWB-oWB", "Normal-iNC-oNC"]


def test_decode_mair_attr_features_change_meaning(run):
    assert run("decode", "mair-attr", "0x40", "--json").json()["memory_type"] == "UNPREDICTABLE"
    data = run("decode", "mair-attr", "0x40", "--features", "XS", "--json").json()
    assert data["memory_type"] == "Normal-iNC-oNC" and data["xs"] == 0
    assert data["properties"]["properties"]["speculative_data_reads"]["value"] == "yes"


def test_decode_s2(run):
    data = run("decode", "s2", "0x5", "--json").json()
    assert data["reserved"] is False and "Non-cacheable" in data["meaning"]
    assert run("decode", "s2", "0x4", "--fwb", "--json").json()["reserved"] is True


def test_decode_pte_stage2(run):
    value = hex((0b0101 << 2) | (0b11 << 6) | (0b11 << 8) | (1 << 10) | 0x1000 | 0b11)
    data = run("decode", "pte", value, "--stage", "2", "--json").json()
    assert data["fields"]["memattr"] == 5 and data["shareability"] == "ISH"


def test_table_csv_has_every_cell(run):
    result = run("table", "--csv")
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert len(rows) == 256 * 16
    cell = next(r for r in rows if r["s1"] == "0x44" and r["s2"] == "0x1")
    assert cell["memory_type"] == "Device-nGnRE"


def test_table_json_to_file_is_atomic(run, tmp_path):
    target = tmp_path / "m.json"
    assert run("table", "--fwb", "--json", "-o", str(target)).code == 0
    assert '"fwb": true' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
