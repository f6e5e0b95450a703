"""`memattr trace` and `memattr policies`: JSON contract, errors, and the compare golden file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def test_trace_json_contract(run):
    data = run("trace", "--kernel", "6.6", "--region", "pci-bar-prefetchable", "--guest", "ioremap_wc",
               "--no-fwb", "--json").json()
    assert data["policy"] == "device-forced"
    assert data["stage2"]["memory_type"] == "Device-nGnRE"
    assert data["effective"]["memory_type"] == "Device-nGnRE"
    assert {alias["who"] for alias in data["aliases"]} >= {"guest", "VMM (mmap of vfio-pci)"}
    assert data["explanation"]


@pytest.mark.parametrize("args,needle", [
    (("trace", "--kernel", "6.6", "--region", "nope", "--guest", "ioremap"), "pci-bar-prefetchable"),
    (("trace", "--kernel", "6.6", "--region", "ram", "--guest", "nope"), "ioremap_wc"),
    (("trace", "--kernel", "six", "--region", "ram", "--guest", "ioremap"), "MAJOR.MINOR"),
    (("trace", "--kernel", "3.10", "--region", "ram", "--guest", "ioremap"), "5.4"),
    (("trace", "--policy", "nope", "--region", "ram", "--guest", "ioremap"), "device-forced"),
    (("trace", "--region", "ram", "--guest", "ioremap"), "--kernel"),
])
def test_trace_bad_input_lists_valid_choices(run, args, needle):
    result = run(*args)
    assert result.code == 2 and result.out == ""
    assert len(result.err.strip().splitlines()) == 1 and needle in result.err


def test_policies_json(run):
    data = run("policies", "--json").json()
    names = [p["name"] for p in data["policies"]]
    assert names[:3] == ["device-forced", "allow-any-uncached", "cacheable-pfnmap"]
    assert all(p["source"] and p["rationale"] for p in data["policies"])


@pytest.mark.parametrize("fwb", [False, True])
def test_policies_compare_golden(run, fwb):
    """`memattr policies compare` is reproducible; regenerate with MEMATTR_REGEN_GOLDEN=1 and review the diff."""
    args = ["policies", "compare", "--json", "--fwb" if fwb else "--no-fwb"]
    data = run(*args).json()
    path = GOLDEN / f"policies-compare-{'fwb' if fwb else 'nofwb'}.json"
    if os.environ.get("MEMATTR_REGEN_GOLDEN"):
        path.write_text(json.dumps(data, indent=2) + "\n")
    assert data == json.loads(path.read_text())


def test_every_compare_cell_is_explained_by_trace(run):
    data = run("policies", "compare", "--json", "--fwb").json()
    for region in data["regions"]:
        for row in region["rows"]:
            for cell in row["cells"]:
                if "trace" not in cell:
                    continue
                args = cell["trace"].split()[1:] + ["--json"]
                traced = run(*args).json()
                assert traced["effective"].get("memory_type") == cell["memory_type"]
