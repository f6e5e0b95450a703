"""What a memory type permits and guarantees: one cited table, one column per memory-type class.

The audit and the Linux model read this table to say, for a guest mapping, whether speculative
reads may hit a register, whether guest atomics or DC ZVA will fault, and whether writes must
reach the device.  Sources: DDI0487 M.a B2.10 "Memory types and attributes", B2.8 "Alignment
support", B2.12 "Synchronization and semaphores", B2.2.6 "Possible implementation restrictions on
using atomic instructions", D7.5 (DC ZVA), D8.6.2 (RPYFVQ).  Where the manual's Markdown carries no
rule tag for a statement, the section and a phrase of the statement are cited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memattr.arch.memtypes import Cacheability, Device, DeviceKind, MemoryType

# The classes a memory type falls into for the purpose of this table.
CLASSES: tuple[str, ...] = (
    "Device-nGnRnE",
    "Device-nGnRE",
    "Device-nGRE",
    "Device-GRE",
    "Normal-NC",  # Inner and Outer Non-cacheable
    "Normal-WT",  # each level Non-cacheable or Write-Through, at least one Write-Through
    "Normal-WB-partial",  # one level Write-Back, the other not
    "Normal-WB",  # Inner and Outer Write-Back
)

DEVICE = ("Device-nGnRnE", "Device-nGnRE", "Device-nGRE", "Device-GRE")
NORMAL = ("Normal-NC", "Normal-WT", "Normal-WB-partial", "Normal-WB")


def memory_class(memtype: MemoryType) -> str:
    """The column of :data:`PROPERTIES` that ``memtype`` belongs to."""
    if isinstance(memtype, Device):
        return f"Device-{memtype.kind.value}"
    levels = (memtype.inner.cacheability, memtype.outer.cacheability)
    if levels == (Cacheability.NC, Cacheability.NC):
        return "Normal-NC"
    if levels == (Cacheability.WB, Cacheability.WB):
        return "Normal-WB"
    if Cacheability.WB in levels:
        return "Normal-WB-partial"
    return "Normal-WT"


@dataclass(frozen=True, slots=True)
class Property:
    """One row: a property, its value for each class, and where the manual says so."""

    key: str
    title: str
    values: dict[str, str]
    source: str

    def __post_init__(self) -> None:
        missing = set(CLASSES) - set(self.values)
        if missing:
            raise AssertionError(f"property {self.key} has no value for {sorted(missing)}")


def _split(device: str, normal: str) -> dict[str, str]:
    return {**{c: device for c in DEVICE}, **{c: normal for c in NORMAL}}


def _device_kinds(rule: dict[DeviceKind, str], normal: dict[str, str] | str) -> dict[str, str]:
    values = {f"Device-{kind.value}": text for kind, text in rule.items()}
    values.update({c: normal for c in NORMAL} if isinstance(normal, str) else normal)
    return values


YES, NO = "yes", "no"

PROPERTIES: tuple[Property, ...] = (
    Property(
        "speculative_data_reads", "speculative data reads permitted",
        _split(NO, YES),
        "B2.10.2 'Speculative data accesses are not permitted to any memory location with any Device memory "
        "attribute' (exceptions: SIMD/FP 16-byte and SVE 64-byte windows, CPY*/SET* 64-byte, LDNP on G); "
        "B2.10.1 'permitted ... to perform Speculative data read accesses' to Normal memory",
    ),
    Property(
        "gathering", "Gathering (merging of accesses) permitted",
        _device_kinds({DeviceKind.nGnRnE: NO, DeviceKind.nGnRE: NO, DeviceKind.nGRE: NO, DeviceKind.GRE: YES}, YES),
        "B2.10.2.1 Gathering; B2.10.1 'Two writes to the same location, where at least one is using the Normal "
        "memory type, might be merged before they reach the endpoint unless there is an ordered-before relationship'",
    ),
    Property(
        "reordering", "Reordering of accesses to the same peripheral permitted",
        _device_kinds({DeviceKind.nGnRnE: NO, DeviceKind.nGnRE: NO, DeviceKind.nGRE: YES, DeviceKind.GRE: YES}, YES),
        "B2.10.2.2 Reordering; B2.10.1 'For accesses to Normal memory, a DMB instruction is required to ensure "
        "the required ordering'",
    ),
    Property(
        "early_write_ack", "Early Write Acknowledgement permitted",
        _device_kinds({DeviceKind.nGnRnE: NO, DeviceKind.nGnRE: YES, DeviceKind.nGRE: YES, DeviceKind.GRE: YES}, YES),
        "B2.10.2.3 Early Write Acknowledgement (nE: the acknowledgement must come from the endpoint); Normal "
        "memory has no E attribute and a write completes when it is observed, not when it reaches the endpoint "
        "(B2.10.1)",
    ),
    Property(
        "writes_reach_endpoint", "writes must reach the endpoint in finite time",
        {**{c: YES for c in DEVICE}, "Normal-NC": YES, "Normal-WT": YES,
         "Normal-WB-partial": "no (may stay in a cache)", "Normal-WB": "no (may stay in a cache)"},
        "B2.10.2 'Explicit Memory Write Effects to a memory location with any Device memory attribute must reach "
        "the endpoint ... in finite time'; B2.10.1 'Normal memory type that is either Non-cacheable or "
        "Write-Through cacheable for both the Inner and Outer cacheability must reach the endpoint ... in finite time'",
    ),
    Property(
        "cacheable", "allocated into caches",
        {**{c: NO for c in DEVICE}, "Normal-NC": NO, "Normal-WT": YES, "Normal-WB-partial": YES, "Normal-WB": YES},
        "B2.10.2 'A memory location with any Device memory attribute cannot be allocated into a cache'; "
        "B2.10.1.3 Cacheability attributes for Normal memory",
    ),
    Property(
        "effective_shareability", "effective Shareability",
        {**{c: "Outer Shareable" for c in DEVICE}, "Normal-NC": "Outer Shareable", "Normal-WT": "as mapped",
         "Normal-WB-partial": "as mapped", "Normal-WB": "as mapped"},
        "D8.6.2 RPYFVQ 'mapped as Device memory or Normal Non-cacheable memory after all enabled translation "
        "stages ... effective Shareability attribute of Outer Shareable'; ASL EffectiveShareability",
    ),
    Property(
        "unaligned_access", "unaligned ordinary load/store",
        _split("Alignment fault (IMPLEMENTATION DEFINED if the location supports unaligned accesses)",
               "permitted when SCTLR_ELx.A is 0"),
        "B2.8.2 'For an unaligned access to any type of Device memory: If the memory location cannot support "
        "unaligned accesses then an Alignment fault is generated' (fault at the first stage that made it Device, "
        "B2.10.2); B2.8.2.1 Unaligned accesses to Normal memory",
    ),
    Property(
        "exclusives", "Load-Exclusive/Store-Exclusive",
        {**{c: "system-defined: External abort or IMPLEMENTATION DEFINED fault (DFSC 0b110101) if no global monitor"
            for c in DEVICE + ("Normal-NC", "Normal-WT", "Normal-WB-partial")},
         "Normal-WB": "supported (global monitor guaranteed when Inner or Outer Shareable)"},
        "B2.12.2.1 'the only memory types for which it is architecturally guaranteed that a global Exclusives "
        "monitor is implemented are: Inner Shareable, Inner Write-Back, Outer Write-Back Normal memory; Outer "
        "Shareable, Inner Write-Back, Outer Write-Back Normal memory'",
    ),
    Property(
        "atomics", "LSE atomic instructions (CAS, SWP, LDADD, ...)",
        {**{c: "system-defined: may abort, fault (DFSC 0b110101), be a NOP or not be atomic"
            for c in DEVICE + ("Normal-NC", "Normal-WT", "Normal-WB-partial")},
         "Normal-WB": "atomic (guaranteed when Inner or Outer Shareable)"},
        "B2.2.6 Possible implementation restrictions on using atomic instructions: 'The memory types for which "
        "it is architecturally guaranteed that the atomic instructions will be atomic are: Inner Shareable, "
        "Inner Write-Back, Outer Write-Back Normal memory ...'",
    ),
    Property(
        "dc_zva", "DC ZVA (zero a block)",
        _split("Alignment fault", "zeroes the block"),
        "D7.5 'If the memory region being zeroed is any type of Device memory, then DC ZVA generates an "
        "Alignment fault'",
    ),
    Property(
        "instruction_fetch", "instruction fetch",
        _split("treated as Normal Non-cacheable or a Permission fault unless execute-never; speculative fetches "
               "not prevented unless XN (programming error)", "permitted unless execute-never"),
        "B2.10.2 'For an instruction fetch from a memory location with the Device attribute that is not marked "
        "as execute-never ... Treat the instruction fetch as if it were to ... Normal Non-cacheable ... Take a "
        "Permission fault' and 'Hardware does not prevent speculative instruction fetches ... unless ... "
        "execute-never'; ASL AArch64.S1Translate, AArch64.S2Translate",
    ),
    Property(
        "idempotence_required", "locations must be idempotent (reads without side effects)",
        _split(NO, YES),
        "B2.10.1 Note: Normal memory 'is appropriate for locations of memory that are idempotent'; if "
        "non-idempotent locations are mapped as Normal, 'Memory accesses return UNKNOWN values' and "
        "'UNPREDICTABLE effects on memory-mapped peripherals' (also K1.1.17)",
    ),
)

PROPERTY_KEYS = tuple(p.key for p in PROPERTIES)


@dataclass(frozen=True, slots=True)
class PropertyValue:
    key: str
    title: str
    value: str
    source: str


@dataclass(frozen=True, slots=True)
class MemoryProperties:
    """The properties of one memory type, read from :data:`PROPERTIES`."""

    memtype: MemoryType
    memory_class: str

    def rows(self) -> tuple[PropertyValue, ...]:
        return tuple(
            PropertyValue(p.key, p.title, p.values[self.memory_class], p.source) for p in PROPERTIES
        )

    def value(self, key: str) -> str:
        for p in PROPERTIES:
            if p.key == key:
                return p.values[self.memory_class]
        raise KeyError(f"unknown property {key!r}; known: {', '.join(PROPERTY_KEYS)}")

    def permits(self, key: str) -> bool:
        """True when the property's value for this class starts with 'yes' (or describes support)."""
        return self.value(key).startswith(("yes", "supported", "atomic", "permitted", "zeroes"))

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.memory_class,
            "properties": {row.key: {"value": row.value, "source": row.source} for row in self.rows()},
        }


def properties_of(memtype: MemoryType) -> MemoryProperties:
    return MemoryProperties(memtype, memory_class(memtype))
