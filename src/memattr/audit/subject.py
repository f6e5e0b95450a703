"""The audit's view of a host region and of what the model computed for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memattr.arch.memtypes import MemoryType
from memattr.linux.chain import Alias, Hazard, Outcome, Stage2Entry


@dataclass(frozen=True, slots=True)
class AuditRegion:
    """One MMIO region a user might pass through, as the audit needs it (built from an inventory)."""

    name: str  # e.g. "0000:01:00.0 BAR0" or "/soc/uart@9000000 reg[0]"
    start: int
    end: int  # inclusive
    kind: str  # a memattr.linux.chain region kind
    title: str
    pci: bool
    prefetchable: bool
    read_side_effects: bool
    coherent: bool = False
    system_ram: bool = False
    owner: str | None = None  # host driver in use
    bdf: str | None = None
    bar: int | None = None
    registers_inside: tuple[str, ...] = ()  # MSI-X table / PBA ranges inside the region
    prefetchable_disagreements: tuple[str, ...] = ()
    nonposted: bool = False  # IORESOURCE_MEM_NONPOSTED: the host uses ioremap_np
    sources: tuple[str, ...] = ()  # where the region was seen, as "file:line"
    observations: tuple[dict[str, Any], ...] = ()  # host page-table observations for this range
    guest_pieces: tuple[Any, ...] = ()  # the VMM's layout of this BAR in guest physical space (QEMU mtree)

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "start": f"{self.start:#x}", "end": f"{self.end:#x}", "size": self.size,
            "kind": self.kind, "pci": self.pci, "prefetchable": self.prefetchable, "owner": self.owner,
            "bdf": self.bdf, "bar": self.bar, "registers_inside": list(self.registers_inside),
            "sources": list(self.sources),
            **({"guest_pieces": [
                {"gpa": f"{p.gpa_start:#x}-{p.gpa_end:#x}", "bar_offset": f"{p.bar_offset:#x}",
                 "mapped": p.mapped, "source": p.source} for p in self.guest_pieces]} if self.guest_pieces else {}),
        }


@dataclass(frozen=True, slots=True)
class Subject:
    """A region together with its traced chain, ready for the rules."""

    region: AuditRegion
    guest_call: str
    fwb: bool
    stage2: Stage2Entry  # what KVM installs at stage 2 (memattr.linux.chain)
    effective: Outcome  # what the guest's accesses get
    aliases: tuple[Alias, ...]
    hazards: tuple[Hazard, ...]
    explanation: tuple[dict[str, str], ...] = ()
    observations: tuple[dict[str, Any], ...] = field(default=())
    guest_memtype: MemoryType | None = None

    @property
    def guest_type(self) -> str | None:
        return self.guest_memtype.short_name if self.guest_memtype is not None else None

    def hazards_of(self, kind: str) -> tuple[Hazard, ...]:
        return tuple(hazard for hazard in self.hazards if hazard.kind == kind)

    @property
    def refused(self) -> str | None:
        return self.effective.refused

    @property
    def host_alias_type(self) -> str | None:
        for alias in self.aliases:
            if alias.who.startswith("host kernel"):
                return alias.memory_type
        return None
