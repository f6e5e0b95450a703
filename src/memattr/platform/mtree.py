"""QEMU's ``info mtree -f`` (flattened memory views): where a VMM put each VFIO BAR in guest physical space.

QEMU (hw/vfio/region.c) exposes a BAR as a memory region named ``"BDF BAR n"``, whose accesses exit
to QEMU (``i/o``), with sub-regions ``"BDF BAR n mmaps[k]"`` backed by the VMM's mmap of the vfio-pci
region (``ram``): only those pieces get stage-2 mappings of the device, the rest (the MSI-X table, or
a whole BAR QEMU chose to trap) is emulated.  A flat-view line (system/memory.c mtree_print_flatview)::

    0000008000000000-0000008000ffffff (prio 1, ram): 0000:01:00.0 BAR 2 mmaps[0] @0000000000000000 KVM

The first flat view (the system address space) is used; lines that are not ranges are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memattr.errors import MemattrError
from memattr.inputs import parse_int

_RANGE = re.compile(r"^\s*(?P<start>[0-9a-f]{1,16})-(?P<end>[0-9a-f]{1,16}) \(prio -?\d{1,6}, (?P<type>[\w /-]{1,20})\): "
                    r"(?P<name>.*)$")
_VFIO = re.compile(r"^(?P<bdf>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) BAR (?P<bar>[0-5])"
                   r"(?: mmaps\[(?P<mmap>\d{1,4})\])?(?: @(?P<offset>[0-9a-f]{1,16}))?")


@dataclass(frozen=True, slots=True)
class GuestPiece:
    """A piece of a VFIO BAR in guest physical space: mapped through to the device, or trapped by the VMM."""

    bdf: str
    bar: int
    gpa_start: int
    gpa_end: int
    bar_offset: int
    mapped: bool  # an mmaps[] piece (stage 2 maps the device), else trapped (MMIO exits to the VMM)
    source: str


def parse_mtree(text: str, source: str = "qemu-mtree.txt") -> tuple[GuestPiece, ...]:
    pieces: list[GuestPiece] = []
    flatviews = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith("FlatView #"):
            flatviews += 1
            if flatviews > 1:
                break  # later views are other address spaces (I/O, per-device DMA)
            continue
        match = _RANGE.match(raw)
        if not match:
            continue
        vfio = _VFIO.match(match.group("name"))
        if not vfio:
            continue
        start = parse_int(match.group("start"), 16, source=source, line=number, what="a guest physical address")
        end = parse_int(match.group("end"), 16, source=source, line=number, what="a guest physical address")
        if end < start:
            raise MemattrError(f"range end {end:#x} is below its start {start:#x}", source=source, line=number,
                               expected="START <= END")
        offset = parse_int(vfio.group("offset"), 16, source=source, line=number) if vfio.group("offset") else 0
        pieces.append(GuestPiece(vfio.group("bdf"), int(vfio.group("bar")), start, end, offset,
                                 vfio.group("mmap") is not None and match.group("type").strip() in ("ram", "ramd"),
                                 f"{source}:{number}"))
    if not pieces and text.strip():
        raise MemattrError("no VFIO BAR in the first flat view", source=source,
                           expected="QEMU 'info mtree -f' output with 'BDF BAR n' regions")
    return tuple(pieces)
