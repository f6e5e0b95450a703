"""Turn a platform inventory into the audit's regions and the Linux model's evidence."""

from __future__ import annotations

from memattr.audit.subject import AuditRegion
from memattr.linux.chain import region_kind
from memattr.linux.evidence import Evidence
from memattr.platform.inventory import HostInventory, PciDevice

PCI_BRIDGE_CLASS = 0x06  # base class 06h: bridges, whose windows are not BARs a VMM maps
COHERENT_DRIVERS = ("nvgrace_gpu_vfio_pci", "nvgrace-gpu-vfio-pci")


def evidence_of(inventory: HostInventory) -> Evidence:
    return Evidence(release=inventory.release, config=inventory.config, modules=inventory.modules,
                    symbols=inventory.symbols, boot_log=inventory.boot_log, kvm_caps=inventory.kvm_caps)


def regions_of(inventory: HostInventory) -> list[AuditRegion]:
    regions: list[AuditRegion] = []
    disagreements: dict[tuple[str, int], list[str]] = {}
    for bdf, bar, text in inventory.bar_disagreements:
        disagreements.setdefault((bdf, bar), []).append(text)
    for device in inventory.pci:
        if device.class_code is not None and device.class_code >> 16 == PCI_BRIDGE_CLASS:
            continue
        for bar in device.bars:
            if not bar.memory or bar.disabled:
                continue
            kind_name = "pci-bar-prefetchable" if bar.prefetchable else "pci-bar-non-prefetchable"
            kind = region_kind(kind_name)
            blocks = tuple(
                f"{block.what} at BAR offset {block.offset:#x}"
                + (f" ({block.size} bytes)" if block.size else "")
                for block in device.register_blocks if block.bar == bar.index
            )
            observations = _observations(inventory, bar.start, bar.end)
            label = f"BAR{bar.index}" if bar.index_known else f"range {bar.index} (BAR number unknown)"
            pref = ("prefetchable" if bar.prefetchable else "non-prefetchable") if bar.index_known else \
                "prefetchability unknown, audited as non-prefetchable"
            if bar.decode_off:
                pref += "; memory decoding was off when captured, vfio-pci turns it on"
            pieces = tuple(p for p in inventory.guest_pieces if p.bdf == device.bdf and p.bar == bar.index)
            regions.append(AuditRegion(
                guest_pieces=pieces,
                name=f"{device.bdf} {label.split(' (')[0]}", start=bar.start, end=bar.end, kind=kind.name,
                title=f"{_describe(device)} {label} ({pref})",
                pci=True, prefetchable=bar.prefetchable, read_side_effects=kind.read_side_effects,
                owner=device.driver, bdf=device.bdf, bar=bar.index, registers_inside=blocks,
                prefetchable_disagreements=tuple(disagreements.get((device.bdf, bar.index), ())),
                nonposted=bar.nonposted, sources=bar.sources, observations=observations,
            ))
        for vf in device.vf_bars:
            kind = region_kind("sriov-vf-bar-prefetchable" if vf.prefetchable else "sriov-vf-bar-non-prefetchable")
            regions.append(AuditRegion(
                name=f"{device.bdf} VF BAR{vf.index}", start=vf.start, end=vf.end, kind=kind.name,
                title=f"{_describe(device)} VF BAR{vf.index} ({vf.vf_count} VFs x {vf.per_vf_size:#x} bytes, "
                      f"{'prefetchable' if vf.prefetchable else 'non-prefetchable'}; VF n at "
                      f"{vf.start:#x} + n x {vf.per_vf_size:#x})",
                pci=True, prefetchable=vf.prefetchable, read_side_effects=kind.read_side_effects,
                # The VFs are functions of their own, bound (or not) each to its driver (igbvf, vfio-pci, ...);
                # the PF's driver does not own their BARs, and the PF's records do not say who does.
                owner=None, bdf=device.bdf, bar=vf.index, sources=vf.sources,
                observations=_observations(inventory, vf.start, vf.end),
            ))
    for node in inventory.platform:
        if node.status not in ("okay", "ok"):
            continue
        kind = region_kind("platform-mmio")
        for n, (start, size) in enumerate(node.regs):
            if size == 0:
                continue
            label = f"range {n}" if node.reg_sources else f"reg[{n}]"
            regions.append(AuditRegion(
                name=f"{node.path} {label}", start=start, end=start + size - 1, kind=kind.name,
                title=f"platform device {node.path} ({', '.join(node.compatible) or 'no compatible'})",
                pci=False, prefetchable=False, read_side_effects=True, owner=None,
                sources=(node.reg_sources[n],) if node.reg_sources else (node.source,),
                observations=_observations(inventory, start, start + size - 1),
            ))
    return regions


def _observations(inventory: HostInventory, start: int, end: int) -> tuple[dict[str, object], ...]:
    """Host page-table entries whose ioremap'd physical address lies in [start, end]."""
    return tuple(
        {"memory_type": entry.memory_type, "raw_type": entry.raw_type, "source": entry.source,
         "device": bool(entry.memory_type and entry.memory_type.startswith("Device")),
         "executable": entry.executable}
        for entry in inventory.page_tables
        if entry.phys_start is not None and start <= entry.phys_start <= end
    )


def _describe(device: PciDevice) -> str:
    if device.description:
        text = device.description.split(":", 1)[-1].strip()
        return f"{device.bdf} {text}"  # whole: only narrow text output shortens names
    if device.vendor is not None and device.device is not None:
        return f"{device.bdf} [{device.vendor:04x}:{device.device:04x}]"
    return device.bdf
