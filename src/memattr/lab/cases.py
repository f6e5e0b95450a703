"""One lab case (a kernel, a CPU model, how the guest maps the BARs) from boot to compared rows."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memattr.audit.run import AuditRequest, audit_host
from memattr.lab.compare import Row, compare, compare_audit
from memattr.lab.debian import Kernel
from memattr.lab.run import HCR_E2H, HCR_FWB, boot_and_read
from memattr.linux.layout import mair_el1, mapping_call, mt_memtype
from memattr.linux.version import v
from memattr.platform.collect import collect
from memattr.platform.host import load_host

GUEST_MAPS = ("ioremap", "ioremap_wc")
AUDIT_GUEST_MAP = {"ioremap": "device", "ioremap_wc": "wc"}  # memattr audit --guest-map


@dataclass
class CaseResult:
    kernel: str
    cpu: str
    guest_call: str
    rows: list[Row] = field(default_factory=list)
    fwb: bool | None = None
    vhe: bool | None = None
    host_dir: str | None = None
    seconds: float = 0.0
    registers: dict[str, int] = field(default_factory=dict)

    @property
    def mismatches(self) -> int:
        return sum(not row.match for row in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "cpu": self.cpu, "guest_map": self.guest_call, "fwb": self.fwb,
                "vhe": self.vhe, "host_dir": self.host_dir, "seconds": round(self.seconds, 1),
                "mismatches": self.mismatches, "rows": [row.to_json() for row in self.rows],
                "registers": {name: f"{value:#x}" for name, value in self.registers.items()}}


def region_kind(host: Any, bdf: str, bar: int) -> str:
    """The region kind memattr's importers give the BAR in the host files the lab collected."""
    for device in host.pci:
        if device.bdf == bdf:
            for item in device.bars:
                if item.index == bar:
                    return "pci-bar-prefetchable" if item.prefetchable else "pci-bar-non-prefetchable"
    raise LookupError(f"{bdf} BAR {bar} is not in the collected host files")


def run_case(kernel: Kernel, busybox: Path, vmm: bytes, *, cpu: str, guest_call: str, devices: list[str],
             keep: Path | None = None, timeout: float = 240.0) -> CaseResult:
    version = v(kernel.release)
    # The guest uses Linux's own MAIR layout for the same kernel version and maps the BARs as that
    # kernel's guest_call would (ioremap: MT_DEVICE_nGnRE; ioremap_wc: MT_NORMAL_NC).
    bar_index = mt_memtype(version, mapping_call(guest_call, version).mt)[0]
    ram_index = mt_memtype(version, "MT_NORMAL")[0]
    start = time.monotonic()
    result = CaseResult(kernel.release, cpu, guest_call)
    with tempfile.TemporaryDirectory(prefix="memattr-lab-") as scratch:
        work = Path(scratch)
        boot = boot_and_read(kernel, busybox, vmm, cpu=cpu, devices=devices, mair=mair_el1(version),
                             bar_index=bar_index, ram_index=ram_index, work=work, timeout=timeout)
        (boot.host_root / "etc").mkdir(exist_ok=True)
        (boot.host_root / "etc/hostname").write_text(f"lab-{kernel.release}-{cpu}-{guest_call}\n")
        host_dir = work / "host"
        collect(host_dir, root=boot.host_root, run_lspci=False, release=kernel.release)
        host = load_host(host_dir)
        hcr = boot.registers["HCR_EL2"]
        result.fwb, result.vhe, result.registers = bool(hcr & HCR_FWB), bool(hcr & HCR_E2H), boot.registers
        for observed in boot.observed:
            kind = region_kind(host, observed.bar.bdf, observed.bar.bar)
            result.rows += compare(observed, kernel=version, region=kind, guest_call=guest_call)
        audit = audit_host(host_dir, AuditRequest(guest_map=AUDIT_GUEST_MAP[guest_call])).to_json()
        result.rows += compare_audit(boot.observed, audit)
        if keep is not None:
            target = keep / f"{kernel.release}-{cpu}-{guest_call}"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(host_dir, target)
            target.with_name(target.name + ".console.log").write_text(boot.console)
            record = {"kernel": kernel.release, "package": kernel.package, "cpu": cpu, "guest_map": guest_call,
                      "devices": devices, **boot.record()}
            target.with_name(target.name + ".lab.json").write_text(json.dumps(record, indent=1) + "\n")
            result.host_dir = str(target)
    result.seconds = time.monotonic() - start
    return result
