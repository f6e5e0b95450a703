"""A host inventory: the typed result of importing what was collected from a host.

Importers produce raw records leniently; :func:`memattr.platform.host.load_host` validates and merges
them into one :class:`HostInventory`.  Everything here is an immutable value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class IomemEntry:
    start: int
    end: int
    name: str
    depth: int
    parent: int | None  # index into the entry list
    line: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class Bar:
    """One PCI BAR, merged from whichever sources saw it."""

    index: int
    start: int
    end: int
    memory: bool  # memory space (not I/O ports)
    prefetchable: bool
    is_64bit: bool
    nonposted: bool = False
    disabled: bool = False  # the resource is unassigned or disabled (sysfs IORESOURCE_UNSET/DISABLED): no address
    decode_off: bool = False  # lspci [disabled]: memory decoding was off when captured (vfio-pci turns it on)
    virtual: bool = False  # lspci [virtual]: an SR-IOV VF BAR or firmware-provided
    flags: int | None = None  # the IORESOURCE_* word from sysfs
    sources: tuple[str, ...] = ()  # "file:line" per source
    index_known: bool = True  # False when only /proc/iomem saw it: ``index`` is its order, not its BAR number

    @property
    def size(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class VfBar:
    """An SR-IOV VF BAR of a physical function: VF n's BAR is start + n * per_vf_size (PCIe SR-IOV 3.3.14)."""

    index: int
    start: int
    end: int
    vf_count: int
    per_vf_size: int
    prefetchable: bool
    is_64bit: bool
    sources: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def slice(self, vf: int) -> tuple[int, int]:
        start = self.start + vf * self.per_vf_size
        return start, start + self.per_vf_size - 1


@dataclass(frozen=True, slots=True)
class SubRange:
    """A register block inside a BAR that the VMM traps (MSI-X table, PBA)."""

    what: str
    bar: int
    offset: int
    size: int | None


@dataclass(frozen=True, slots=True)
class PciDevice:
    bdf: str
    vendor: int | None = None
    device: int | None = None
    class_code: int | None = None
    description: str = ""
    driver: str | None = None
    bars: tuple[Bar, ...] = ()
    register_blocks: tuple[SubRange, ...] = ()
    sources: tuple[str, ...] = ()
    vf_bars: tuple[VfBar, ...] = ()


@dataclass(frozen=True, slots=True)
class PlatformDevice:
    """A device-tree MMIO node (or an iomem platform range)."""

    path: str
    compatible: tuple[str, ...]
    regs: tuple[tuple[int, int], ...]  # (start, size)
    dma_coherent: bool = False
    status: str = "okay"
    source: str = ""
    # Ranges from /proc/iomem: one "file:line" per range, and no device-tree reg index (iomem lists a
    # device's ranges by address, under its name), so the regions are named "NAME range N".
    reg_sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PageTableEntry:
    """A host kernel_page_tables range, with its PA when /proc/vmallocinfo ties the VA to an ioremap."""

    va_start: int
    va_end: int
    memory_type: str | None  # canonical memattr name, or None if the dump's type is unknown
    raw_type: str
    executable: bool
    phys_start: int | None
    source: str


@dataclass(frozen=True, slots=True)
class Stage2Entry:
    """A KVM stage2_page_tables range: IPA, level and permissions; the dump carries no memory type."""

    ipa_start: int
    ipa_end: int
    level: int | None
    permissions: str
    source: str


@dataclass(frozen=True, slots=True)
class HostInventory:
    name: str
    release: str | None = None
    iomem: tuple[IomemEntry, ...] = ()
    pci: tuple[PciDevice, ...] = ()
    platform: tuple[PlatformDevice, ...] = ()
    page_tables: tuple[PageTableEntry, ...] = ()
    stage2: tuple[Stage2Entry, ...] = ()
    config: dict[str, str] = field(default_factory=dict)
    modules: frozenset[str] = frozenset()
    symbols: frozenset[str] = frozenset()
    boot_log: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    bar_disagreements: tuple[tuple[str, int, str], ...] = ()  # (bdf, BAR, what the sources disagree on)
    machine: str | None = None  # uname -m
    guest_pieces: tuple[Any, ...] = ()  # memattr.platform.mtree.GuestPiece: a VMM's layout of VFIO BARs
    kvm_caps: dict[str, int] = field(default_factory=dict)  # KVM_CHECK_EXTENSION answers from /dev/kvm

    def architecture(self) -> tuple[str | None, str]:
        """(arm64 / another architecture / None when nothing says, and the evidence)."""
        if self.machine:
            return ("arm64" if self.machine in ("aarch64", "arm64") else self.machine), "uname -m"
        if self.config.get("CONFIG_ARM64") == "y":
            return "arm64", "CONFIG_ARM64=y"
        for name, arch in (("CONFIG_X86_64", "x86_64"), ("CONFIG_X86", "x86"), ("CONFIG_RISCV", "riscv"),
                           ("CONFIG_PPC64", "ppc64")):
            if self.config.get(name) == "y":
                return arch, f"{name}=y"
        if self.release:
            for marker, arch in ((".x86_64", "x86_64"), ("-amd64", "x86_64"), (".aarch64", "arm64"),
                                 ("-arm64", "arm64"), ("-rpi", "arm64")):
                if marker in self.release:
                    return arch, f"kernel release {self.release}"
        return None, ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "release": self.release,
            "inputs": list(self.inputs),
            "warnings": list(self.warnings),
            "pci": [
                {
                    "bdf": d.bdf,
                    "vendor": f"{d.vendor:04x}" if d.vendor is not None else None,
                    "device": f"{d.device:04x}" if d.device is not None else None,
                    "class": f"{d.class_code:06x}" if d.class_code is not None else None,
                    "description": d.description,
                    "driver": d.driver,
                    "bars": [
                        {"index": b.index, "start": f"{b.start:#x}", "end": f"{b.end:#x}", "size": b.size,
                         "memory": b.memory, "prefetchable": b.prefetchable, "64bit": b.is_64bit,
                         "nonposted": b.nonposted, "disabled": b.disabled, "decode_off": b.decode_off,
                         "virtual": b.virtual,
                         "sources": list(b.sources)}
                        for b in d.bars
                    ],
                    "register_blocks": [
                        {"what": r.what, "bar": r.bar, "offset": f"{r.offset:#x}", "size": r.size}
                        for r in d.register_blocks
                    ],
                    **({"vf_bars": [
                        {"index": v.index, "start": f"{v.start:#x}", "end": f"{v.end:#x}", "vfs": v.vf_count,
                         "per_vf_size": v.per_vf_size, "prefetchable": v.prefetchable, "64bit": v.is_64bit,
                         "sources": list(v.sources)}
                        for v in d.vf_bars]} if d.vf_bars else {}),
                }
                for d in self.pci
            ],
            "platform": [
                {"path": p.path, "compatible": list(p.compatible),
                 "regs": [[f"{s:#x}", size] for s, size in p.regs], "dma_coherent": p.dma_coherent,
                 "status": p.status}
                for p in self.platform
            ],
            "iomem_entries": len(self.iomem),
            "page_tables": len(self.page_tables),
            "stage2_entries": len(self.stage2),
            "modules": sorted(self.modules),
        }
