"""Every real, public arm64 dump in tests/data/hosts audits as it did when its goldens were checked.

Each host directory holds the files as published (README.md names the source) and two goldens:
``regions.json`` (address, size, 64-bit, prefetchable, owner, kind, sources of every region; checked
by hand against the raw text, see the README's "Checked" section) and ``findings-6.12-wc.json`` (the
findings of ``memattr audit --kernel 6.12 --guest-map wc --assume-arm64``).  Regenerate with
MEMATTR_REGEN_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from memattr.audit.from_inventory import regions_of
from memattr.audit.run import AuditRequest, audit_host
from memattr.platform.host import load_host

HOSTS = Path(__file__).resolve().parents[1] / "data" / "hosts"
HOST_DIRS = sorted(p for p in HOSTS.iterdir() if p.is_dir())


def _regions(directory: Path) -> list[dict[str, object]]:
    inventory = load_host(directory)
    # "64bit" is the BAR's type as its sources give it (a 32-bit BAR may sit above 4 GiB in CPU addresses
    # behind a translating host bridge, as on the Raspberry Pi 5); None for a region that is not a BAR.
    width: dict[tuple[str, str], bool] = {}
    for device in inventory.pci:
        width.update({(device.bdf, f"BAR{bar.index}"): bar.is_64bit for bar in device.bars})
        width.update({(device.bdf, f"VF BAR{vf.index}"): vf.is_64bit for vf in device.vf_bars})
    return [{"region": r.name, "start": f"{r.start:#x}", "size": f"{r.end - r.start + 1:#x}", "kind": r.kind,
             "prefetchable": r.prefetchable,
             "64bit": width.get((r.bdf, r.name.split(" ", 1)[1])) if r.bdf else None, "owner": r.owner,
             "sources": list(r.sources)} for r in regions_of(inventory)]


def _findings(directory: Path) -> list[dict[str, object]]:
    result = audit_host(directory, AuditRequest(kernel="6.12", guest_map="wc", assume_arm64=True))
    return [{"rule": f.rule, "severity": f.severity.value, "region": f.region, "message": f.message}
            for f in result.findings]


def _check(path: Path, actual: object) -> None:
    text = json.dumps(actual, indent=1) + "\n"
    if os.environ.get("MEMATTR_REGEN_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"no golden {path}; run with MEMATTR_REGEN_GOLDEN=1 and review"
    assert json.loads(path.read_text()) == actual


def test_the_corpus_is_there():
    assert len(HOST_DIRS) >= 20
    for directory in HOST_DIRS:
        assert (directory / "README.md").read_text().strip(), directory


@pytest.mark.parametrize("directory", HOST_DIRS, ids=[p.name for p in HOST_DIRS])
def test_real_host_regions(directory):
    regions = _regions(directory)
    assert regions, f"{directory.name}: no region from a real dump"
    _check(directory / "regions.json", regions)


@pytest.mark.parametrize("directory", HOST_DIRS, ids=[p.name for p in HOST_DIRS])
def test_real_host_findings(directory):
    _check(directory / "findings-6.12-wc.json", _findings(directory))
