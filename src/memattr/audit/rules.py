"""Hazard rules: one table of rule facts (ID, severity, explanation with citations) and small checks.

Each check takes a :class:`~memattr.audit.subject.Subject` (a region of a host, the chain memattr
computed for it, and what the host was observed to do) and yields findings.  Users can disable rules
and change severities in a config file (:mod:`memattr.audit.config`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Iterator

from memattr.arch.memtypes import Device, Normal
from memattr.audit.subject import Subject


class Severity(enum.Enum):
    """SARIF levels, in increasing order of importance."""

    NOTE = "note"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"note": 0, "warning": 1, "error": 2}[self.value]

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"unknown severity {text!r}; expected note, warning or error") from None


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    region: str
    message: str
    evidence: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"rule": self.rule, "severity": self.severity.value, "region": self.region,
                "message": self.message, "evidence": list(self.evidence)}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    severity: Severity
    summary: str
    explanation: str
    check: Callable[[Subject], Iterator[tuple[str, tuple[str, ...]]]]


def _speculative(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    guest = subject.guest_type
    if isinstance(subject.guest_memtype, Normal) and subject.region.read_side_effects:
        yield (f"the guest's mapping of {subject.region.title} is {guest}, which permits speculative reads and "
               f"gathering of a region that may hold registers with read side effects",
               (f"region kind {subject.region.kind}", f"guest {subject.guest_call} -> {guest}"))


def _mismatched(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    for hazard in subject.hazards_of("mismatched-aliases"):
        yield hazard.text, tuple(f"{a.who}: {a.memory_type}" for a in hazard.aliases)


def _device_types(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    for hazard in subject.hazards_of("mismatched-device-types"):
        yield ("aliases of the page use different Device types, so each alias has its own ordering and "
               "acknowledgement guarantees", tuple(f"{a.who}: {a.memory_type}" for a in hazard.aliases))


def _cacheable_without_fwb(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    if subject.refused:
        yield (f"KVM refuses to map this region: {subject.refused}", (f"FWB {'on' if subject.fwb else 'off'}",))
    guest = subject.guest_type
    if isinstance(subject.guest_memtype, Normal) and subject.guest_memtype.cacheable and not subject.region.coherent \
            and not subject.region.system_ram:
        yield (f"the guest gets a cacheable type ({guest}) on memory that is not cache-coherent",
               (f"region kind {subject.region.kind}",))


def _lost_wc(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    for hazard in subject.hazards_of("lost-write-combining"):
        yield hazard.text + " (every write is a separate non-gathered transaction)", ()


MEMORY_LIKE_CALLS = ("ioremap_wc", "ioremap_cache", "memremap_wb", "memremap_wc")


def _guest_faults(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    # A driver that maps with ioremap expects Device memory and uses readl/writel; one that asked for a
    # memory type (write-combining, cacheable) may use memcpy/memset and atomics on it.
    guest = subject.guest_type
    if isinstance(subject.guest_memtype, Device) and subject.guest_call in MEMORY_LIKE_CALLS:
        faults = dict(subject.effective.faults)
        yield (f"guest code written for memory will fault on {guest}: unaligned accesses "
               f"({faults.get('unaligned_access', '?')}), DC ZVA ({faults.get('dc_zva', '?')}), "
               f"exclusives/atomics (system-defined)",
               tuple(f"{key}: {value}" for key, value in faults.items()))


def _executable(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    if subject.stage2.executable and not subject.region.system_ram:
        yield "stage 2 grants execute permission on device memory", (f"stage 2 {subject.stage2.prot}",)
    for observed in subject.observations:
        if observed.get("device") and observed.get("executable"):
            yield (f"the running kernel maps this region as {observed['memory_type']} without execute-never",
                   (observed.get("source", "ptdump"),))


def _reset_overtakes(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    guest = subject.guest_type
    if isinstance(subject.guest_memtype, Normal) and subject.guest_memtype.non_cacheable and subject.region.pci:
        yield ("gathered Normal-NC writes to this BAR have no architectural completion guarantee relative to a "
               "device reset through config space: without a read back from the device, the reset may overtake "
               "them (see litmus/device/*reset*)", (f"guest {subject.guest_call} -> {guest}",))


def _prefetchable_registers(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    region = subject.region
    if region.prefetchable and region.registers_inside:
        yield (f"a prefetchable BAR holds registers ({', '.join(region.registers_inside)}): prefetchable does "
               f"not prove the absence of read side effects", region.registers_inside)


def _prefetch_flag(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    for disagreement in subject.region.prefetchable_disagreements:
        yield f"sources disagree on whether the BAR is prefetchable: {disagreement}", (disagreement,)


def _observed_type(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    expected = subject.host_alias_type
    for observed in subject.observations:
        if expected and observed.get("memory_type") and observed["memory_type"] != expected:
            yield (f"the running kernel maps this region as {observed['memory_type']}, the model predicts "
                   f"{expected} for the host driver's alias", (observed.get("source", "ptdump"),))


def _vmm_layout(subject: Subject) -> Iterator[tuple[str, tuple[str, ...]]]:
    pieces = subject.region.guest_pieces
    if not pieces:
        return
    mapped = [p for p in pieces if p.mapped]
    trapped = [p for p in pieces if not p.mapped]
    where = tuple(p.source for p in pieces)
    if not mapped:
        yield ("the VMM traps every access to this BAR (no mmaps[] piece in the guest's memory map): the guest's "
               "memory type never reaches the device, every access exits to the VMM", where)
        return
    size = subject.region.size
    covered = sum(p.gpa_end - p.gpa_start + 1 for p in mapped)
    if trapped or covered < size:
        pieces_text = ", ".join(f"BAR+{p.bar_offset:#x} ({p.gpa_end - p.gpa_start + 1:#x} bytes)" for p in trapped)
        yield (f"the VMM maps {covered:#x} of {size:#x} bytes of this BAR through to the device and traps the "
               f"rest{': ' + pieces_text if pieces_text else ''}; only the mapped pieces get the stage-2 type "
               "the audit shows", where)


RULES: tuple[Rule, ...] = (
    Rule("MA001", "speculative-access-to-registers", Severity.ERROR,
         "Normal memory type on a region with read side effects",
         "Normal memory permits speculative data reads and the merging of accesses (DDI0487 M.a B2.10.1); "
         "mapping non-idempotent locations as Normal can return UNKNOWN values and have UNPREDICTABLE effects "
         "on peripherals (B2.10.1 note, K1.1.17). Non-prefetchable BARs and platform MMIO may hold such "
         "registers; Linux only lets vfio-pci (PCIe) opt in with VM_ALLOW_ANY_UNCACHED.", _speculative),
    Rule("MA002", "mismatched-attribute-aliases", Severity.WARNING,
         "aliases of one physical page with different memory types or cacheability",
         "When the same location is accessed through aliases whose memory type or cacheability differ, the "
         "architecture's coherency and ordering guarantees between them are lost (DDI0487 M.a B2.11 "
         "Mismatched memory attributes). A cacheable alias over a non-cacheable one can return stale data "
         "(the reason v6.17 KVM blocks cacheable PFNMAP VMAs without FWB).", _mismatched),
    Rule("MA003", "cacheable-stage2-hazard", Severity.ERROR,
         "cacheable stage 2 without FEAT_S2FWB, or on non-coherent memory",
         "KVM maps PFNMAP memory cacheable at stage 2 only with FEAT_S2FWB and CTR_EL0.DIC, because it has "
         "no kernel alias through which to clean caches (arch/arm64/kvm/mmu.c, v6.17); otherwise the mapping "
         "is refused. Cacheable access to memory that is not coherent with the device loses writes.",
         _cacheable_without_fwb),
    Rule("MA004", "lost-write-combining", Severity.NOTE,
         "the guest asked for write-combining but gets a Device type",
         "Device has precedence over Normal when stage 1 and stage 2 are combined (DDI0487 M.a Table D8-97): "
         "with KVM forcing Device-nGnRE at stage 2, a guest's ioremap_wc is not gathered (B2.10.2.1), which "
         "costs bandwidth on GPUs and NICs.", _lost_wc),
    Rule("MA005", "guest-code-faults-on-device", Severity.NOTE,
         "unaligned accesses, DC ZVA, exclusives and atomics on Device memory",
         "Unaligned accesses to Device memory generate Alignment faults (B2.8.2), DC ZVA to Device memory "
         "generates an Alignment fault (D7.5), and exclusives/atomics are only guaranteed on Write-Back "
         "memory (B2.12.2.1, B2.2.6). A guest driver that mapped the region with ioremap_wc or memremap and "
         "uses memcpy/memset-style helpers on it faults when the region is Device after all.",
         _guest_faults),
    Rule("MA006", "executable-device-mapping", Severity.ERROR,
         "device memory mapped executable",
         "Hardware does not prevent speculative instruction fetches from Device memory unless it is "
         "execute-never; failing to mark it so is a programming error (DDI0487 M.a B2.10.2).", _executable),
    Rule("MA007", "reset-may-overtake-writes", Severity.WARNING,
         "gathered Normal-NC writes versus a device reset",
         "Normal-NC writes reach the endpoint in finite time (B2.10.1) but a DSB only waits for their "
         "completion, which an intermediate buffer may signal; nothing orders their arrival at the device "
         "with a config-space write to another peripheral. Read back from the BAR before resetting.",
         _reset_overtakes),
    Rule("MA008", "prefetchable-bar-with-registers", Severity.WARNING,
         "a prefetchable BAR containing registers (MSI-X table or PBA)",
         "The prefetchable flag is the device's claim that reads have no side effects, not a proof: an MSI-X "
         "table or PBA inside a prefetchable BAR is a register block the VMM traps, and a guest mapping the "
         "rest of the BAR Normal-NC may speculatively touch it.", _prefetchable_registers),
    Rule("MA009", "prefetchable-flag-disagreement", Severity.WARNING,
         "sources disagree on a BAR's prefetchable flag",
         "lspci, sysfs and the kernel log should agree on IORESOURCE_PREFETCH; a disagreement (or a VMM that "
         "drops the flag) means the guest may choose a mapping type from wrong information.", _prefetch_flag),
    Rule("MA010", "observed-type-differs", Severity.WARNING,
         "the running kernel's page tables disagree with the model",
         "A host kernel_page_tables dump shows the memory type actually programmed; a difference from the "
         "type the model predicts for the host driver's ioremap means the model or the driver is not what "
         "you think.", _observed_type),
    Rule("MA012", "vmm-traps-bar", Severity.NOTE,
         "the VMM maps only part of a BAR (or none of it) through to the device",
         "QEMU exposes a VFIO BAR as a trapped region with mmaps[] sub-regions backed by the VMM's mmap of the "
         "vfio-pci region (hw/vfio/region.c); only those get stage-2 mappings of the device. Pieces it traps "
         "(the MSI-X table, or a whole BAR) are emulated, so the memory types shown do not apply to them.",
         _vmm_layout),
    Rule("MA011", "mismatched-device-types", Severity.NOTE,
         "aliases with different Device types",
         "Aliases that differ only in the Device G/R/E attributes keep coherency but each alias gets its own "
         "ordering and write-acknowledgement behaviour (B2.10.2, B2.11); vfio-pci's user mapping is "
         "Device-nGnRnE while drivers use Device-nGnRE.", _device_types),
)

RULE_IDS = tuple(rule.id for rule in RULES)


def rule_by_id(rule_id: str) -> Rule:
    for rule in RULES:
        if rule.id == rule_id or rule.name == rule_id:
            return rule
    raise KeyError(rule_id)
