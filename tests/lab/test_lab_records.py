"""The lab's records of real runs (tests/data/lab): Debian's 6.1 and 6.12 arm64 kernels under QEMU 7.2,
-cpu max (FEAT_S2FWB, VHE) and cortex-a57 (neither), the guest mapping two BARs as ioremap or ioremap_wc.

Each record holds the registers and every descriptor the walks read.  The walks are replayed here
from those registers over the recorded descriptors, the predictions are recomputed, and the host
files the lab collected go through the importers and the audit.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from memattr.arch.walk import stage1_regime, stage2_regime, walk
from memattr.audit.run import AuditRequest, audit_host
from memattr.lab.cases import AUDIT_GUEST_MAP, region_kind
from memattr.lab.compare import compare, compare_audit
from memattr.lab.run import HCR_E2H, BarSeen, Observed
from memattr.linux.version import v
from memattr.platform.host import load_host

LAB = Path(__file__).parent.parent / "data" / "lab"
RECORDS = sorted(LAB.glob("*.lab.json"))


def _observed(record: dict) -> list[Observed]:  # type: ignore[type-arg]
    regs = {name: int(value, 16) for name, value in record["registers"].items()}
    memory: dict[int, int] = {}
    for bar in record["bars"]:
        for key in ("host_ioremap", "vmm", "stage2", "guest"):
            for _, where, value in (bar[key] or {"path": []})["path"]:
                memory[int(where, 16)] = int(value, 16)
        for found in bar["guest_stage2"]:
            for _, where, value in found["path"]:
                memory[int(where, 16)] = int(value, 16)
    read = memory.__getitem__  # a descriptor the record lacks is a KeyError: the replay read elsewhere
    suffix = "EL2" if regs["HCR_EL2"] & HCR_E2H else "EL1"
    tcr, ttbr0, ttbr1 = (regs[f"host {name}_{suffix}"] for name in ("TCR", "TTBR0", "TTBR1"))
    s2 = stage2_regime(regs["VTCR_EL2"], regs["VTTBR_EL2"])
    observed = []
    for bar in record["bars"]:
        seen = BarSeen(bar["bdf"], bar["bar"], int(bar["ipa"], 16), int(bar["size"], 16), int(bar["vmm_va"], 16))
        stage2 = walk(s2, seen.ipa, read)
        vmm = walk(stage1_regime(tcr, ttbr0, ttbr1, seen.vmm_va), seen.vmm_va, read)
        va = int(bar["host_ioremap"]["address"], 16)
        host = walk(stage1_regime(tcr, ttbr0, ttbr1, va), va, read)
        guest = walk(stage1_regime(regs["TCR_EL1"], regs["TTBR0_EL1"], 0, seen.ipa), seen.ipa, read,
                     lambda ipa: walk(s2, ipa, read).output_address)
        for found, key in ((stage2, "stage2"), (vmm, "vmm"), (host, "host_ioremap"), (guest, "guest")):
            assert found.output_address == int(bar[key]["output_address"], 16)
            assert found.descriptor == int(bar[key]["descriptor"], 16)
        observed.append(Observed(seen, stage2.output_address, regs[f"host MAIR_{suffix}"], host, va, vmm, stage2,
                                 regs["MAIR_EL1"], guest, regs["HCR_EL2"]))
    return observed


def _host_dir(record_path: Path) -> Path:
    return LAB / record_path.name.rsplit("-", 1)[0]


@pytest.mark.parametrize("path", RECORDS, ids=[p.name.removesuffix(".lab.json") for p in RECORDS])
def test_replayed_walks_match_every_prediction(path):
    record = json.loads(path.read_text())
    host = load_host(_host_dir(path))
    rows = []
    for observed in _observed(record):
        kind = region_kind(host, observed.bar.bdf, observed.bar.bar)
        rows += compare(observed, kernel=v(record["kernel"]), region=kind, guest_call=record["guest_map"])
    assert len(rows) == 12
    audit = audit_host(_host_dir(path), AuditRequest(guest_map=AUDIT_GUEST_MAP[record["guest_map"]])).to_json()
    rows += compare_audit(_observed(record), audit)
    assert len(rows) == 17
    assert [row.alias for row in rows if not row.match] == []


def test_the_records_cover_both_policies_with_and_without_fwb():
    seen = set()
    for path in RECORDS:
        record = json.loads(path.read_text())
        hcr = int(record["registers"]["HCR_EL2"], 16)
        memattr = {int(bar["stage2"]["descriptor"], 16) >> 2 & 0xF for bar in record["bars"]}
        seen.add((record["kernel"].split(".")[0:2][1], bool(hcr >> 46 & 1), record["guest_map"], tuple(memattr)))
    # 6.1 forces Device-nGnRE at stage 2 (0b0001); 6.12 lets the guest choose (Normal-NC, 0b0101) with or
    # without FWB (the FWB encoding of Normal-NC is also 0b0101).
    assert ("1", True, "ioremap", (0b0001,)) in seen and ("1", False, "ioremap_wc", (0b0001,)) in seen
    assert ("12", True, "ioremap_wc", (0b0101,)) in seen and ("12", False, "ioremap", (0b0101,)) in seen
    assert len(seen) == 8


def test_a_changed_stage2_entry_is_a_mismatch():
    path = LAB / "6.12.95+deb12-arm64-max-ioremap_wc.lab.json"
    record = json.loads(path.read_text())
    observed = _observed(record)[0]
    device = observed.stage2.descriptor & ~(0xF << 2) | (0b0001 << 2)  # as 6.1 would have written
    changed = replace(observed, stage2=replace(observed.stage2, descriptor=device,
                                               leaf=replace(observed.stage2.leaf, memattr=0b0001)))
    rows = compare(changed, kernel=v(record["kernel"]), region="pci-bar-prefetchable", guest_call="ioremap_wc")
    assert {row.alias for row in rows if not row.match} == {"stage 2 MemAttr (FWB=1)", "guest accesses (effective)"}


@pytest.mark.parametrize("name", ["6.1.0-50-arm64-max", "6.1.0-50-arm64-cortex-a57", "6.12.95+deb12-arm64-max",
                                  "6.12.95+deb12-arm64-cortex-a57"])
def test_lab_hosts_import_and_audit(name):
    """The host files each lab run collected: the BARs, their driver, FWB from the boot log, the policy."""
    host = load_host(LAB / name)
    assert host.architecture()[0] == "arm64"
    devices = {device.bdf: device for device in host.pci}
    ivshmem, nvme = devices["0000:00:02.0"], devices["0000:00:03.0"]
    assert ivshmem.driver == nvme.driver == "vfio-pci"
    bar2 = next(bar for bar in ivshmem.bars if bar.index == 2)
    assert bar2.prefetchable and bar2.is_64bit and bar2.size == 2 << 20 and bar2.start == 0x80_0000_0000
    bar0 = next(bar for bar in nvme.bars if bar.index == 0)
    assert not bar0.prefetchable and bar0.size == 16 << 10
    assert any("vfio" in module for module in host.modules)
    fwb = name.endswith("-max")
    assert any("Stage-2 Force Write-Back" in line for line in host.boot_log) == fwb
    data = audit_host(LAB / name, AuditRequest()).to_json()
    assert data["fwb"] is fwb
    assert data["policy"] == ("device-forced" if name.startswith("6.1.0") else "allow-any-uncached")



def test_hashed_vmallocinfo_addresses_are_reported(tmp_path):
    """Real output of the 6.12 lab kernel read with kptr_restrict=0: every address is hashed."""
    host = tmp_path / "host"
    (host / "proc").mkdir(parents=True)
    (host / "proc/iomem").write_text((LAB / "6.12.95+deb12-arm64-max/proc/iomem").read_text())
    (host / "proc/vmallocinfo").write_text(
        "0x00000000f84de84e-0x000000007faf07e6   20480 start_kernel+0x348/0x7e8 pages=4 vmalloc N0=4\n"
        "0x00000000a647f3e2-0x00000000ff339d65 2101248 __ioremap_prot+0x70/0xb8 phys=0x0000008000000000 ioremap\n")
    warnings = load_host(host).warnings
    assert any("hashed" in warning and "kptr_restrict=1" in warning for warning in warnings)
    assert not any("hashed" in warning for warning in load_host(LAB / "6.12.95+deb12-arm64-max").warnings)


def test_host_bridge_windows_are_not_platform_mmio():
    """`8000000000-ffffffffff : pcie@10000000` holds the BARs; it is a window, not a device's registers."""
    host = load_host(LAB / "6.1.0-50-arm64-cortex-a57")
    names = {device.path for device in host.platform}
    assert "pcie@10000000" not in names
    assert {"pl011@9000000", "9050000.smmuv3"} <= names
