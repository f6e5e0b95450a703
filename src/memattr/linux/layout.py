"""The arm64 Linux stage-1 attribute layout: MT_* MAIR indexes, MAIR_EL1, pgprot and ioremap helpers.

Versioned knowledge is a base table plus overlays, each tagged with the kernel version and commit
that introduced it.  All memory types are derived by decoding the MAIR byte with
:mod:`memattr.arch.mair`, never written down twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from memattr.arch.mair import decode_mair_attr
from memattr.arch.memtypes import MemoryType
from memattr.errors import MemattrError
from memattr.linux.version import KernelVersion, v

# MAIR_ATTR_* bytes: arch/arm64/include/asm/sysreg.h.  The values never changed; MAIR_ATTR_DEVICE_GRE and
# MAIR_ATTR_NORMAL_WT were removed with their MT_* indexes in v5.14 (sysreg.h of v6.x, read, defines only
# DEVICE_nGnRnE, DEVICE_nGnRE, NORMAL_NC, NORMAL_TAGGED and NORMAL).
MAIR_ATTR_UNTIL = {"DEVICE_GRE": "5.13", "NORMAL_WT": "5.13"}
MAIR_ATTR = {
    "DEVICE_nGnRnE": 0x00,
    "DEVICE_nGnRE": 0x04,
    "DEVICE_GRE": 0x0C,
    "NORMAL_NC": 0x44,
    "NORMAL_WT": 0xBB,
    "NORMAL_TAGGED": 0xF0,
    "NORMAL": 0xFF,
}


@dataclass(frozen=True, slots=True)
class Layout:
    """MT_* index -> MAIR_ATTR name, as programmed into MAIR_EL1 by __cpu_setup."""

    since: KernelVersion
    indexes: dict[str, int]
    mair_attr: dict[str, str]
    source: str


# arch/arm64/include/asm/memory.h MT_* and arch/arm64/mm/proc.S MAIR_EL1_SET (later MAIR_ELx_SET).
LAYOUTS: tuple[Layout, ...] = (
    Layout(
        v("5.4"),
        {"MT_DEVICE_nGnRnE": 0, "MT_DEVICE_nGnRE": 1, "MT_DEVICE_GRE": 2, "MT_NORMAL_NC": 3,
         "MT_NORMAL": 4, "MT_NORMAL_WT": 5},
        {"MT_DEVICE_nGnRnE": "DEVICE_nGnRnE", "MT_DEVICE_nGnRE": "DEVICE_nGnRE", "MT_DEVICE_GRE": "DEVICE_GRE",
         "MT_NORMAL_NC": "NORMAL_NC", "MT_NORMAL": "NORMAL", "MT_NORMAL_WT": "NORMAL_WT"},
        "arch/arm64/include/asm/memory.h, arch/arm64/mm/proc.S MAIR_EL1_SET @ v5.4",
    ),
    Layout(
        v("5.10"),
        {"MT_NORMAL": 0, "MT_NORMAL_TAGGED": 1, "MT_NORMAL_NC": 2, "MT_NORMAL_WT": 3,
         "MT_DEVICE_nGnRnE": 4, "MT_DEVICE_nGnRE": 5, "MT_DEVICE_GRE": 6},
        {"MT_NORMAL": "NORMAL", "MT_NORMAL_TAGGED": "NORMAL", "MT_NORMAL_NC": "NORMAL_NC",
         "MT_NORMAL_WT": "NORMAL_WT", "MT_DEVICE_nGnRnE": "DEVICE_nGnRnE", "MT_DEVICE_nGnRE": "DEVICE_nGnRE",
         "MT_DEVICE_GRE": "DEVICE_GRE"},
        "asm/memory.h @ v5.10: 'arm64: mte: Add PROT_MTE support to mmap() and mprotect()' reorders so that "
        "MT_NORMAL is index 0; MT_NORMAL_TAGGED starts as NORMAL and __cpu_setup/cpu_enable_mte switch it to "
        "NORMAL_TAGGED (0xf0) when MTE is present",
    ),
    Layout(
        v("5.14"),
        {"MT_NORMAL": 0, "MT_NORMAL_TAGGED": 1, "MT_NORMAL_NC": 2, "MT_DEVICE_nGnRnE": 3, "MT_DEVICE_nGnRE": 4},
        {"MT_NORMAL": "NORMAL", "MT_NORMAL_TAGGED": "NORMAL", "MT_NORMAL_NC": "NORMAL_NC",
         "MT_DEVICE_nGnRnE": "DEVICE_nGnRnE", "MT_DEVICE_nGnRE": "DEVICE_nGnRE"},
        "asm/memory.h @ v5.14: 58cc6b72a212 'arm64: mm: Remove unused support for Device-GRE memory type' and "
        "21cfe6edbadb 'arm64: mm: Remove unused support for Normal-WT memory type' (Will Deacon, arm64 "
        "for-next/mm for v5.14)",
    ),
)

OLDEST = v("5.4")
NEWEST = v("7.0")  # the v5.14 layout is unchanged to v7.0 (asm/memory.h of the v7.0 merge window, read)


def check_version(version: KernelVersion) -> KernelVersion:
    if not OLDEST <= version <= NEWEST:
        raise MemattrError(
            f"kernel {version} is outside the versions memattr models",
            expected=f"a version from {OLDEST} to {NEWEST}",
        )
    return version


def layout_for(version: KernelVersion) -> Layout:
    check_version(version)
    return [layout for layout in LAYOUTS if layout.since <= version][-1]


def mair_el1(version: KernelVersion, *, mte: bool = False) -> int:
    """The MAIR_EL1 value the kernel programs (with MTE enabled, MT_NORMAL_TAGGED holds 0xf0)."""
    layout = layout_for(version)
    value = 0
    for name, index in layout.indexes.items():
        attr = layout.mair_attr[name]
        if name == "MT_NORMAL_TAGGED" and mte:
            attr = "NORMAL_TAGGED"
        value |= MAIR_ATTR[attr] << (8 * index)
    return value


def mt_memtype(version: KernelVersion, mt: str, *, mte: bool = False) -> tuple[int, int, MemoryType]:
    """(AttrIndx, MAIR byte, memory type) of an MT_* index in ``version``."""
    layout = layout_for(version)
    if mt not in layout.indexes:
        raise MemattrError(f"{mt} does not exist in kernel {version}", expected=", ".join(layout.indexes))
    attr = layout.mair_attr[mt]
    if mt == "MT_NORMAL_TAGGED" and mte:
        attr = "NORMAL_TAGGED"
    byte = MAIR_ATTR[attr]
    memtype = decode_mair_attr(byte, frozenset({"MTE2"}) if mte else frozenset())
    assert not hasattr(memtype, "choices"), "Linux never programs a reserved MAIR value"
    return layout.indexes[mt], byte, memtype  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class MappingCall:
    """A kernel API that picks a stage-1 memory type: pgprot_* helpers and ioremap/memremap variants."""

    name: str
    mt: str  # the MT_* index it selects (for RAM-backed memremap WB: the linear map's MT_NORMAL)
    since: KernelVersion
    source: str
    executable: bool = False  # PTE_PXN/PTE_UXN cleared?
    note: str = ""
    status: str = "confirmed"  # or "inferred", with the reasoning in ``note``


# arch/arm64/include/asm/pgtable.h (pgprot_*), arch/arm64/include/asm/io.h and arch/arm64/mm/ioremap.c
# (ioremap*), kernel/iomem.c (memremap).  PROT_DEVICE_nGnRE etc. are in asm/pgtable-prot.h.
MAPPING_CALLS: tuple[MappingCall, ...] = (
    MappingCall("ioremap", "MT_DEVICE_nGnRE", v("5.4"), "arch/arm64/include/asm/io.h ioremap() -> PROT_DEVICE_nGnRE "
                "(_PAGE_IOREMAP in newer kernels)"),
    MappingCall("ioremap_wc", "MT_NORMAL_NC", v("5.4"), "arch/arm64/include/asm/io.h ioremap_wc() -> PROT_NORMAL_NC"),
    MappingCall("ioremap_np", "MT_DEVICE_nGnRnE", v("5.13"),
                "arch/arm64/include/asm/io.h ioremap_np() -> PROT_DEVICE_nGnRnE, added by 9a63ae850255 'arm64: "
                "Implement ioremap_np() to map MMIO as nGnRnE' (Hector Martin, for Apple M1 non-posted MMIO; "
                "pci_remap_cfgspace() uses it since b10eb2d50911)", status="inferred",
                note="the definition is confirmed in asm/io.h; the v5.13 release of 9a63ae850255 (the Apple M1 "
                     "series of the v5.13 merge window) was not checked against a tag"),
    MappingCall("ioremap_cache", "MT_NORMAL", v("5.4"),
                "arch/arm64/mm/ioremap.c ioremap_cache() in older kernels, a static inline in "
                "arch/arm64/include/asm/io.h in newer ones: the linear map for RAM (pfn_is_map_memory()), else "
                "ioremap_prot(PROT_NORMAL)", status="inferred",
                note="both definitions read; the release that moved it to asm/io.h (the GENERIC_IOREMAP "
                     "conversion) was not checked"),
    MappingCall("memremap_wb", "MT_NORMAL", v("5.4"),
                "kernel/iomem.c memremap(MEMREMAP_WB): the linear map for System RAM (try_ram_remap), else "
                "arch_memremap_wb() -> ioremap_cache()", status="inferred",
                note="kernel/iomem.c's generic arch_memremap_wb() is ioremap_cache(); arm64 was not seen to "
                     "override it, which was not checked in every version"),
    MappingCall("memremap_wc", "MT_NORMAL_NC", v("5.4"), "kernel/iomem.c memremap(MEMREMAP_WC) -> ioremap_wc()",
                status="inferred", note="the generic path; ioremap_wc is PROT_NORMAL_NC (asm/io.h, confirmed)"),
    MappingCall("pgprot_noncached", "MT_DEVICE_nGnRnE", v("5.4"),
                "arch/arm64/include/asm/pgtable.h pgprot_noncached(): MT_DEVICE_nGnRnE | PTE_PXN | PTE_UXN"),
    MappingCall("pgprot_device", "MT_DEVICE_nGnRE", v("5.4"),
                "arch/arm64/include/asm/pgtable.h pgprot_device(): MT_DEVICE_nGnRE | PTE_PXN | PTE_UXN"),
    MappingCall("pgprot_writecombine", "MT_NORMAL_NC", v("5.4"),
                "arch/arm64/include/asm/pgtable.h pgprot_writecombine(): MT_NORMAL_NC | PTE_PXN | PTE_UXN"),
    MappingCall("pgprot_cached", "MT_NORMAL", v("5.4"),
                "a user VMA left at its default vm_page_prot (PAGE_SHARED: MT_NORMAL)", executable=False),
)

CALL_NAMES = tuple(call.name for call in MAPPING_CALLS)


def mapping_call(name: str, version: KernelVersion) -> MappingCall:
    for call in MAPPING_CALLS:
        if call.name == name:
            if version < call.since:
                raise MemattrError(f"{name} does not exist before kernel {call.since} (asked for {version})",
                                   expected=f"one of {', '.join(c.name for c in MAPPING_CALLS if c.since <= version)}")
            return call
    raise MemattrError(f"unknown mapping call {name!r}", expected=f"one of {', '.join(CALL_NAMES)}")
