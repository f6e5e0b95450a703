"""``/proc/iomem``: the kernel's resource tree, nested by indentation.

Format (kernel/resource.c r_show): ``%*s%0*llx-%0*llx : %s`` with two spaces of indent per level,
but the indent stops growing at depth 5 (``width = depth * 2`` capped by ``MAX_IORES_LEVEL``), so
deeper entries are printed at the same indentation: parents are recovered by containment.  Read
without CAP_SYS_ADMIN every range prints as zeros (``00000000-00000000``).
"""

from __future__ import annotations

import re

from memattr.errors import MemattrError
from memattr.inputs import parse_int
from memattr.platform.inventory import IomemEntry

_LINE = re.compile(r"^( *)([0-9a-fA-F]+)-([0-9a-fA-F]+) : (.*)$")
MAX_IORES_LEVEL = 5


def parse_iomem(text: str, source: str = "/proc/iomem") -> tuple[IomemEntry, ...]:
    entries: list[IomemEntry] = []
    stack: list[int] = []  # indexes of the current ancestors
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        match = _LINE.match(raw.rstrip("\r"))
        if not match:
            raise MemattrError(f"not a /proc/iomem line: {raw.strip()[:60]!r}", source=source, line=number,
                               expected="'START-END : NAME' with hexadecimal addresses")
        indent, start_text, end_text, name = match.groups()
        if len(indent) % 2:
            raise MemattrError(f"odd indentation ({len(indent)} spaces)", source=source, line=number,
                               expected="two spaces per nesting level")
        start = parse_int(start_text, 16, source=source, line=number, what="a 64-bit address")
        end = parse_int(end_text, 16, source=source, line=number, what="a 64-bit address")
        if end < start:
            raise MemattrError(f"range end {end:#x} is below its start {start:#x}", source=source, line=number,
                               expected="START <= END")
        depth = len(indent) // 2
        if depth > MAX_IORES_LEVEL:
            raise MemattrError(f"indentation of {len(indent)} spaces is deeper than the kernel prints",
                               source=source, line=number, expected=f"at most {MAX_IORES_LEVEL * 2} spaces")
        if depth > len(stack):
            raise MemattrError(f"entry is nested {depth} levels deep under a parent at level {len(stack) - 1}",
                               source=source, line=number, expected="each level indented two spaces more than its parent")
        if depth < MAX_IORES_LEVEL:
            del stack[depth:]
        else:
            # The kernel prints every level >= 5 at this indentation: the parent is the innermost
            # earlier entry printed there (or the level-4 entry above them) that contains the range.
            while len(stack) > MAX_IORES_LEVEL and not _contains(entries[stack[-1]], start, end):
                stack.pop()
        parent = stack[-1] if stack else None
        if parent is not None and not _contains(entries[parent], start, end) and not _zero(start, end):
            raise MemattrError(f"{start:#x}-{end:#x} ({name.strip()}) lies outside its parent "
                               f"{entries[parent].start:#x}-{entries[parent].end:#x}", source=source, line=number,
                               expected="children inside their parent's range")
        entries.append(IomemEntry(start, end, name.strip(), len(stack), parent, number))
        stack.append(len(entries) - 1)
    if entries and all(_zero(e.start, e.end) for e in entries):
        raise MemattrError("every range is 00000000-00000000: /proc/iomem was read without root "
                           "(CAP_SYS_ADMIN)", source=source, line=entries[0].line,
                           expected="a copy read as root (sudo cat /proc/iomem)")
    return tuple(entries)


def _contains(parent: IomemEntry, start: int, end: int) -> bool:
    return parent.start <= start and end <= parent.end


def _zero(start: int, end: int) -> bool:
    return start == 0 and end == 0


def ancestors(entries: tuple[IomemEntry, ...], index: int) -> list[IomemEntry]:
    chain = []
    parent = entries[index].parent
    while parent is not None:
        chain.append(entries[parent])
        parent = entries[parent].parent
    return chain


# Names of /proc/iomem entries (kernel/resource.c r_show prints ``resource->name``):
_BDF_NAME = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")  # a PCI BAR: pci_dev_name() of its owner
# Device-tree platform devices: of_device_make_bus_id() "fe200000.gpio" (often followed by the node name,
# "9000000.pl011 pl011@9000000"), a node name "usb@fc400000", or an ACPI/DT path.
_PLATFORM_NAME = re.compile(r"^(?:[0-9a-f]+\.[A-Za-z][\w,.+-]*|[A-Za-z][\w,.+-]*@[0-9a-f]+|/[\w/@,.-]+)(?:\s|$)")
_NOT_DEVICES = ("System RAM", "reserved", "Kernel ", "PCI Bus", "PCI ECAM", "PCI MMCONFIG", "Crash kernel",
                "ACPI", "Persistent Memory", "Reserved", "Unknown E820", "IOAPIC", "Local APIC", "System ROM",
                "Video ROM", "Adapter ROM")


def pci_bar_ranges(entries: tuple[IomemEntry, ...]) -> dict[str, list[IomemEntry]]:
    """Ranges claimed in a PCI window by a function's name: its BARs as the kernel assigned them."""
    found: dict[str, list[IomemEntry]] = {}
    for entry in entries:
        if entry.parent is not None and entries[entry.parent].name == entry.name:
            continue  # the driver's request of its own BAR, nested in the BAR under the same name
        if _BDF_NAME.match(entry.name) and _under_pci_window(entries, entry):
            found.setdefault(entry.name, []).append(entry)
    return found


_BRIDGE_WINDOW = re.compile(r"^pcie?@[0-9a-f]+$", re.IGNORECASE)


def platform_ranges(entries: tuple[IomemEntry, ...]) -> list[IomemEntry]:
    """Top-level ranges named after a platform device (not RAM, reserved, kernel or PCI windows)."""
    children_of: dict[int, list[IomemEntry]] = {}
    for entry in entries:
        if entry.parent is not None:
            children_of.setdefault(entry.parent, []).append(entry)
    out = []
    for index, entry in enumerate(entries):
        if entry.parent is not None or entry.name.startswith(_NOT_DEVICES):
            continue
        if any(child.name.startswith("PCI Bus") or _BDF_NAME.match(child.name) for child in children_of.get(index, ())):
            continue  # a PCI host bridge window: its BARs are found by name
        if _BRIDGE_WINDOW.match(entry.name):
            # A host bridge's window carries its device-tree node's full name ("pcie@10000000":
            # drivers/of/address.c of_pci_range_to_resource() names each "ranges" window after the node;
            # seen on the lab's 6.1 and 6.12 kernels, tests/data/lab); the controller's own registers are
            # requested under the device name ("fd500000.pcie") and stay platform MMIO.
            continue
        if "pci" in entry.name.lower() and not _PLATFORM_NAME.match(entry.name):
            continue
        if _PLATFORM_NAME.match(entry.name):
            out.append(entry)
            continue
        # A range requested under a name of its own ("tpdm-base", "GICD", "nvidia"): the device's name is on a
        # nested entry when the driver also requested it by device ("6844000.tpdm tpdm-base"); otherwise the
        # range is MMIO that only its requester's name identifies, and is audited under that name.
        named = [child for child in children_of.get(index, ()) if _PLATFORM_NAME.match(child.name)]
        out.extend(named or [entry])
    return out


def _under_pci_window(entries: tuple[IomemEntry, ...], entry: IomemEntry) -> bool:
    parent = entry.parent
    while parent is not None:
        name = entries[parent].name
        if name.startswith("PCI Bus") or name.startswith("pcie") or "pci" in name.lower():
            return True
        parent = entries[parent].parent
    return False
