"""memattr's predictions beside what a running kernel wrote into its page tables.

For each passed-through BAR, every alias of the physical page is one row: the host kernel's ioremap
(vfio-pci's barmap), the VMM's user mapping (vfio-pci's mmap), the stage-2 entry KVM wrote, the
guest's stage-1 entry, and the effective type of the guest's accesses.  Predictions come from the
same functions ``memattr trace`` uses (:func:`memattr.linux.chain.trace`, the MAIR layout of
:mod:`memattr.linux.layout`); observations are decoded with :mod:`memattr.arch` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memattr.arch.combine import Controls, combine
from memattr.arch.mair import decode_mair_attr
from memattr.arch.memtypes import Unpredictable
from memattr.lab.run import HCR_FWB, Observed
from memattr.linux.chain import stage2_memory_type, trace
from memattr.linux.layout import mair_el1, mapping_call, mt_memtype
from memattr.linux.version import KernelVersion


@dataclass(frozen=True, slots=True)
class Row:
    bar: str  # "0000:00:02.0 BAR 2"
    alias: str
    predicted: str
    observed: str
    where: str  # the descriptor or register the observation was read from

    @property
    def match(self) -> bool:
        return self.predicted == self.observed

    def to_json(self) -> dict[str, Any]:
        return {"bar": self.bar, "alias": self.alias, "predicted": self.predicted, "observed": self.observed,
                "match": self.match, "where": self.where}


def _mair_byte(mair: int, index: int) -> int:
    return (mair >> (8 * index)) & 0xFF


def _type_name(byte: int) -> str:
    memtype = decode_mair_attr(byte)
    return "UNPREDICTABLE" if isinstance(memtype, Unpredictable) else memtype.short_name


def compare(observed: Observed, *, kernel: KernelVersion, region: str, guest_call: str) -> list[Row]:
    fwb = bool(observed.hcr & HCR_FWB)
    traced = trace(region=region, guest_call=guest_call, fwb=fwb, kernel=kernel)
    label = f"{observed.bar.bdf} BAR {observed.bar.bar}"
    rows: list[Row] = []
    predicted_mair = mair_el1(kernel)
    rows.append(Row(label, "host MAIR (Linux's layout)", f"{predicted_mair:#x}", f"{observed.host_mair:#x}",
                    "MAIR_EL2 (VHE)" if observed.hcr & (1 << 34) else "MAIR_EL1"))
    by_who = {alias.who: alias for alias in traced.aliases}
    host_alias = next((a for who, a in by_who.items() if who.startswith("host kernel")), None)
    vmm_alias = next((a for who, a in by_who.items() if who.startswith("VMM")), None)
    if observed.host_ioremap is not None:
        leaf = observed.host_ioremap.leaf
        rows.append(Row(label, "host kernel ioremap (vfio-pci barmap)",
                        host_alias.memory_type if host_alias else "(no host alias predicted)",
                        _type_name(_mair_byte(observed.host_mair, leaf.attr_index)),
                        f"VA {observed.host_ioremap.address:#x} level {observed.host_ioremap.level} "
                        f"{observed.host_ioremap.descriptor:#018x} AttrIndx {leaf.attr_index}"))
    if vmm_alias is not None:
        leaf = observed.vmm.leaf
        rows.append(Row(label, "VMM user mapping (vfio-pci mmap)", vmm_alias.memory_type,
                        _type_name(_mair_byte(observed.host_mair, leaf.attr_index)),
                        f"VA {observed.vmm.address:#x} level {observed.vmm.level} {observed.vmm.descriptor:#018x} "
                        f"AttrIndx {leaf.attr_index}"))
    s2_leaf = observed.stage2.leaf
    predicted_s2 = traced.stage2.to_json()["memattr"] or "refused"
    rows.append(Row(label, f"stage 2 MemAttr (FWB={int(fwb)})", f"{predicted_s2} {traced.stage2.memory_type}",
                    f"{s2_leaf.memattr:#06b} {stage2_memory_type(s2_leaf.memattr, fwb)}",
                    f"IPA {observed.stage2.address:#x} level {observed.stage2.level} {observed.stage2.descriptor:#018x}"))
    index, byte, _ = mt_memtype(kernel, mapping_call(guest_call, kernel).mt)
    if observed.guest is None:
        guest_byte, where = None, "guest MMU off (SCTLR_EL1.M=0)"
        rows.append(Row(label, f"guest stage 1 ({guest_call})", f"{byte:#04x}", "MMU off", where))
    else:
        leaf = observed.guest.leaf
        guest_byte = _mair_byte(observed.guest_mair, leaf.attr_index)
        rows.append(Row(label, f"guest stage 1 ({guest_call})", f"{byte:#04x} {_type_name(byte)}",
                        f"{guest_byte:#04x} {_type_name(guest_byte)}",
                        f"VA {observed.guest.address:#x} level {observed.guest.level} {observed.guest.descriptor:#018x} "
                        f"AttrIndx {leaf.attr_index}"))
    effective = combine(guest_byte, s2_leaf.memattr, controls=Controls(fwb=fwb))
    rows.append(Row(label, "guest accesses (effective)", str(traced.effective.memory_type),
                    effective.memory_type, "memattr.arch.combine of the two observed entries"))
    return rows


def compare_audit(observed: list[Observed], audit: dict[str, Any]) -> list[Row]:
    """What ``memattr audit`` made of the host files the lab collected, beside the machine: FEAT_S2FWB
    detected from the boot log against HCR_EL2.FWB, and per BAR the stage-2 entry and the effective type
    of the region the audit found at the BAR's address."""
    rows: list[Row] = []
    if not observed:
        return rows
    fwb = bool(observed[0].hcr & HCR_FWB)
    detected = audit["detection"].get("fwb")
    rows.append(Row("host", "audit: FEAT_S2FWB (from the boot log)", "unknown" if detected is None else str(detected),
                    str(fwb), "HCR_EL2.FWB"))
    by_start = {int(region["region"]["start"], 16): region for region in audit["regions"]}
    for item in observed:
        label = f"{item.bar.bdf} BAR {item.bar.bar}"
        region = by_start.get(item.physical)
        if region is None:
            rows.append(Row(label, "audit: region at the BAR's address", "(none found)", f"{item.physical:#x}",
                            "the audit's regions"))
            continue
        s2_leaf = item.stage2.leaf
        stage2 = region["stage2"]
        rows.append(Row(label, f"audit: stage 2 ({region['region']['kind']})",
                        f"{stage2.get('memattr')} {stage2.get('memory_type')}",
                        f"{s2_leaf.memattr:#06b} {stage2_memory_type(s2_leaf.memattr, fwb)}",
                        f"IPA {item.stage2.address:#x} {item.stage2.descriptor:#018x}"))
        guest_byte = None if item.guest is None else _mair_byte(item.guest_mair, item.guest.leaf.attr_index)
        effective = combine(guest_byte, s2_leaf.memattr, controls=Controls(fwb=fwb))
        rows.append(Row(label, f"audit: effective ({region['guest']})", str(region["effective"].get("memory_type")),
                        effective.memory_type, "memattr.arch.combine of the observed entries"))
    return rows
