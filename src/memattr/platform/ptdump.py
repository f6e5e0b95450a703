"""arm64 page-table dumps: the host's ``kernel_page_tables`` and KVM's ``stage2_page_tables``.

Host (arch/arm64/mm/ptdump.c): ``0xffff800080000000-0xffff800080010000   64K PTE   RW NX SHD AF   UXN
DEVICE/nGnRE``; the last word names the MT_* attribute.  VAs are tied to physical addresses through
``/proc/vmallocinfo`` lines such as ``0x...-0x... 65536 __ioremap_caller+0x..  phys=0x0000000080000000
ioremap``.  KVM's stage-2 dump (arch/arm64/kvm/ptdump.c, v6.11+) prints IPA ranges, the level and
R/W/X and AF, but no memory type: memattr infers the stage-2 type from the policy and says so.
"""

from __future__ import annotations

import re

from memattr.errors import MemattrError
from memattr.inputs import parse_int
from memattr.platform.inventory import PageTableEntry, Stage2Entry

# arch/arm64/mm/ptdump.c pte_bits[] attribute names -> canonical memattr names, across versions.
PTDUMP_TYPES = {
    "DEVICE/nGnRnE": "Device-nGnRnE",
    "DEVICE/nGnRE": "Device-nGnRE",
    "DEVICE/GRE": "Device-GRE",  # before v5.14 (MT_DEVICE_GRE removed)
    "MEM/NORMAL-NC": "Normal-iNC-oNC",
    "MEM/NORMAL": "Normal-iWB-oWB",
    "MEM/NORMAL-TAGGED": "Normal-iWB-oWB",
    "MEM/NORMAL-WT": "Normal-iWT-oWT",  # before v5.14
}

_HOST = re.compile(r"^0x(?P<start>[0-9a-f]{16})-0x(?P<end>[0-9a-f]{16})\s+(?P<size>\d+[KMGTP]?)\s+(?P<rest>.*)$")
_MARKER = re.compile(r"^-{3,}\[ .* \]-{3,}$")
_VMALLOC = re.compile(r"^0x(?P<start>[0-9a-f]+)-0x(?P<end>[0-9a-f]+)\s+\d+\s+(?P<rest>.*)$")
_PHYS = re.compile(r"phys=0x(?P<phys>[0-9a-f]+)")
_STAGE2 = re.compile(r"^0x(?P<start>[0-9a-f]+)-0x(?P<end>[0-9a-f]+)\s+(?P<size>\d+[KMGTP]?)\s+(?P<rest>.*)$")


def parse_vmallocinfo(text: str, source: str = "/proc/vmallocinfo") -> dict[int, int]:
    """VA start -> PA start of each ioremap area (entries carrying ``phys=`` and ``ioremap``)."""
    mapping = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _VMALLOC.match(line)
        if not match:
            raise MemattrError(f"not a /proc/vmallocinfo line: {line[:60]!r}", source=source, line=number,
                               expected="'0xSTART-0xEND SIZE CALLER ...'")
        phys = _PHYS.search(match.group("rest"))
        if phys and "ioremap" in match.group("rest"):
            mapping[parse_int(match.group("start"), 16, source=source, line=number)] = parse_int(
                phys.group("phys"), 16, source=source, line=number)
    return mapping


def parse_kernel_page_tables(text: str, vmalloc: dict[int, int] | None = None,
                             source: str = "kernel_page_tables") -> tuple[PageTableEntry, ...]:
    entries = []
    vmalloc = vmalloc or {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or _MARKER.match(line):
            continue
        match = _HOST.match(line)
        if not match:
            raise MemattrError(f"not a kernel_page_tables line: {line[:60]!r}", source=source, line=number,
                               expected="'0xSTART-0xEND SIZE LEVEL ATTRIBUTES' or a '---[ NAME ]---' marker")
        start = parse_int(match.group("start"), 16, source=source, line=number)
        end = parse_int(match.group("end"), 16, source=source, line=number, bits=65)
        if end <= start:
            raise MemattrError("range end is not above its start", source=source, line=number,
                               expected="START < END (END is exclusive)")
        words = match.group("rest").split()
        raw_type = next((w for w in reversed(words) if "/" in w), "")
        entries.append(PageTableEntry(
            va_start=start, va_end=end - 1, memory_type=PTDUMP_TYPES.get(raw_type), raw_type=raw_type,
            executable="NX" not in words, phys_start=vmalloc.get(start), source=f"{source}:{number}",
        ))
    return tuple(entries)


def parse_stage2_page_tables(text: str, source: str = "stage2_page_tables") -> tuple[Stage2Entry, ...]:
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or _MARKER.match(line):
            continue
        match = _STAGE2.match(line)
        if not match:
            raise MemattrError(f"not a stage2_page_tables line: {line[:60]!r}", source=source, line=number,
                               expected="'0xSTART-0xEND SIZE LEVEL PERMISSIONS'")
        rest = match.group("rest").split()
        level = next((parse_int(w, 10, source=source, line=number, what="a level", bits=8)
                      for w in rest if w.isascii() and w.isdigit()), None)
        perms = " ".join(w for w in rest if not (w.isascii() and w.isdigit()))
        start = parse_int(match.group("start"), 16, source=source, line=number)
        end = parse_int(match.group("end"), 16, source=source, line=number, bits=65)
        if end <= start:
            raise MemattrError("range end is not above its start", source=source, line=number,
                               expected="START < END (END is exclusive)")
        entries.append(Stage2Entry(start, end - 1, level, perms,
                                   f"{source}:{number}"))
    return tuple(entries)
