"""A small slice of the hostile-input campaign (``make fuzz`` runs 100,000 inputs per reader)."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

import pytest

CAMPAIGN = Path(__file__).resolve().parents[2] / "fuzz" / "campaign.py"


def _campaign():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("memattr_fuzz_campaign", CAMPAIGN)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # dataclasses and the worker pool look the module up by name
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_every_reader_survives_a_slice_of_mutated_real_inputs(tmp_path):
    """README: "Bad input prints one line on standard error (file:line and what was expected) and exits 2"."""
    campaign = _campaign()
    rows = campaign.campaign(per_reader=150, jobs=2, names=None, seed=7, keep=str(tmp_path), special=False,
                             out=io.StringIO())
    assert {row["reader"] for row in rows} == {r.name for r in campaign.readers()}
    for row in rows:
        assert row["inputs"] == 150
        assert (row["tracebacks"], row["hangs"], row["wrong exit codes"]) == (0, 0, 0), row
        assert row["bad input"] > 0, f"{row['reader']}: no mutation was rejected; the mutator is not biting"


@pytest.mark.slow
def test_special_files_through_every_reader_command_line():
    campaign = _campaign()
    for reader in campaign.readers():
        result = campaign.special_files(reader)
        assert (result["tracebacks"], result["hangs"], result["wrong exit"]) == (0, 0, 0), (reader.name, result)
