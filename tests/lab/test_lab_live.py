"""One real lab case, end to end: fetch Debian's 6.12 arm64 kernel, boot it under QEMU with -cpu max, pass
two BARs through vfio-pci to the lab VMM's guest mapping them Normal-NC, read the page tables through
the gdbstub and compare with memattr's predictions.  Slow tier; .ci/run installs QEMU and the cross
compiler (make lab-deps).  Outside CI it is skipped when they are missing."""

from __future__ import annotations

import json
import os
import shutil

import pytest

pytestmark = pytest.mark.slow

TOOLS = ("qemu-system-aarch64", "aarch64-linux-gnu-gcc", "apt-get", "dpkg-deb")


def test_lab_case_6_12_max_ioremap_wc(tmp_path, run):
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if missing and not os.environ.get("CI"):
        pytest.skip(f"not installed: {', '.join(missing)} (make lab-deps)")
    cache = os.environ.get("MEMATTR_LAB_CACHE", str(tmp_path / "cache"))
    result = run("lab", "--kernel", "6.12", "--cpu", "max", "--guest-map", "ioremap_wc", "--cache", cache,
                 "--keep", str(tmp_path / "keep"), "--json")
    assert result.code == 0, result.err[-2000:]
    data = json.loads(result.out)
    (case,) = data["cases"]
    assert case["fwb"] is True and case["vhe"] is True and case["mismatches"] == 0
    assert len(case["rows"]) == 17  # 6 aliases per BAR, FWB detected by the audit, 2 audit rows per BAR
    assert any(row["alias"].startswith("audit: stage 2 (pci-bar-prefetchable)") for row in case["rows"])
    effective = {row["bar"]: row["observed"] for row in case["rows"] if row["alias"] == "guest accesses (effective)"}
    assert set(effective.values()) == {"Normal-iNC-oNC"}
    assert (tmp_path / "keep" / f"{case['kernel']}-max-ioremap_wc" / "manifest.json").is_file()
