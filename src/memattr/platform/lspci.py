"""``lspci -v``/``-vv``/``-vvv`` (with or without ``-nn``) text.

Handled: device header lines (``0000:01:00.0 3D controller [0302]: NVIDIA ... [10de:20b5] (rev a1)``,
with or without a domain), ``Region N: Memory at ADDR (64-bit, prefetchable) [size=16M]`` with the
``[disabled]``, ``[virtual]``, ``<ignored>`` and ``<unassigned>`` forms, ``I/O ports at``, the MSI-X
capability's ``Vector table: BAR=N offset=OFF`` and ``PBA: BAR=N offset=OFF``, and ``Kernel driver in
use:``.  A ``[32-bit]`` tag on bridge windows is ignored (newer lspci prints it on 46-bit windows).
"""

from __future__ import annotations

import re

from memattr.errors import MemattrError
from memattr.inputs import parse_int
from memattr.platform.inventory import Bar, PciDevice, SubRange

_HEADER = re.compile(
    r"^(?:(?P<domain>[0-9a-fA-F]{4,8}):)?(?P<bus>[0-9a-fA-F]{2}):(?P<dev>[0-9a-fA-F]{2})\.(?P<fn>[0-7])\s+(?P<rest>.*)$"
)
_IDS = re.compile(r"\[(?P<vendor>[0-9a-fA-F]{4}):(?P<device>[0-9a-fA-F]{4})\]")
_CLASS = re.compile(r"^[^:]*\[(?P<cls>[0-9a-fA-F]{4})\]:")
_REGION = re.compile(
    r"^(?:Region (?P<index>\d+): )?(?P<space>Memory at|I/O ports at) (?P<addr><ignored>|<unassigned>|[0-9a-fA-F]+)"
    r"(?P<attrs>(?: \([^)]*\))?)(?P<tags>.*)$"
)
_SIZE = re.compile(r"\[size=(?P<size>\d+)(?P<unit>[KMGT]?)\]")
_VECTOR = re.compile(r"^Vector table: BAR=(?P<bar>\d+) offset=(?P<off>[0-9a-fA-F]+)$")
_PBA = re.compile(r"^PBA: BAR=(?P<bar>\d+) offset=(?P<off>[0-9a-fA-F]+)$")
_MSIX = re.compile(r"MSI-X: Enable[+-] Count=(?P<count>\d+)")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_lspci(text: str, source: str = "lspci.txt", warnings: list[str] | None = None) -> tuple[PciDevice, ...]:
    """Devices and BARs; a line that is neither a device line nor inside one (a pasted shell prompt, a
    heading) is skipped with a warning, and text with no device line at all is an error."""
    notes = warnings if warnings is not None else []
    devices: list[PciDevice] = []
    current: dict | None = None

    def finish() -> None:
        if current is not None:
            devices.append(PciDevice(
                bdf=current["bdf"], vendor=current["vendor"], device=current["device"],
                class_code=current["class"], description=current["description"], driver=current["driver"],
                bars=tuple(current["bars"]), register_blocks=tuple(current["blocks"]),
                sources=(f"{source}:{current['line']}",),
            ))

    msix_count = None
    next_index = 0  # `lspci -v` without -vv prints no "Region N:": BARs count in order, 64-bit ones twice
    capability_indent: int | None = None  # inside a capability block (SR-IOV VF BARs are listed there)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if not raw[0].isspace():
            match = _HEADER.match(line)
            if not match:
                notes.append(f"{source}:{number}: not an lspci device line, skipped: {line[:60]!r}")
                finish()
                current = None
                continue
            finish()
            domain = int(match.group("domain") or "0", 16)
            bdf = f"{domain:04x}:{match.group('bus').lower()}:{match.group('dev').lower()}.{match.group('fn')}"
            rest = match.group("rest")
            ids = _IDS.findall(rest)
            class_match = _CLASS.match(rest)
            current = {
                "bdf": bdf, "line": number, "description": rest,
                "vendor": int(ids[-1][0], 16) if ids else None,
                "device": int(ids[-1][1], 16) if ids else None,
                "class": int(class_match.group("cls"), 16) << 8 if class_match else None,
                "driver": None, "bars": [], "blocks": [],
            }
            msix_count = None
            next_index = 0
            capability_indent = None
            continue
        if current is None:
            continue  # inside a skipped block (the warning names its first line)
        body = line.strip()
        indent = len(line) - len(line.lstrip())
        if capability_indent is not None and indent <= capability_indent:
            capability_indent = None
        if body.startswith("Capabilities:"):
            capability_indent = indent  # its own line may carry "MSI-X: Enable+ Count=N"
        elif capability_indent is not None:
            pass  # lines inside a capability: SR-IOV "Region N:" lines there are VF BARs, not the function's
        elif body.startswith(("Region ", "Memory at ", "I/O ports at ")):
            bar, next_index = _parse_region(body, f"{source}:{number}", source, number, next_index)
            if bar is not None:
                current["bars"].append(bar)
            continue
        if body.startswith("Kernel driver in use:"):
            current["driver"] = body.split(":", 1)[1].strip() or None
        elif (found := _MSIX.search(body)) is not None:
            msix_count = parse_int(found.group("count"), 10, source=source, line=number, what="an MSI-X count", bits=16)
        elif (found := _VECTOR.match(body)) is not None:
            size = msix_count * 16 if msix_count else None  # 16 bytes per MSI-X table entry (PCIe spec)
            current["blocks"].append(SubRange("MSI-X table", _small(found.group("bar"), source, number),
                                              parse_int(found.group("off"), 16, source=source, line=number), size))
        elif (found := _PBA.match(body)) is not None:
            size = ((msix_count + 63) // 64) * 8 if msix_count else None  # one bit per vector, in QWORDs
            current["blocks"].append(SubRange("MSI-X PBA", _small(found.group("bar"), source, number),
                                              parse_int(found.group("off"), 16, source=source, line=number), size))
    finish()
    if not devices and text.strip():
        raise MemattrError("no lspci device line", source=source, line=1,
                           expected="'[DOMAIN:]BUS:DEV.FN CLASS: DESCRIPTION' lines from lspci -v/-vv/-vvv")
    return tuple(devices)


def _parse_region(body: str, where: str, source: str, number: int, next_index: int) -> tuple[Bar | None, int]:
    """One BAR line; returns it (None when nothing is mapped) and the index the next unnumbered BAR gets."""
    match = _REGION.match(body)
    if not match:
        raise MemattrError(f"unrecognised Region line: {body[:70]!r}", source=source, line=number,
                           expected="'Region N: Memory at ADDR (ATTRS) [size=N]' or 'I/O ports at ADDR'")
    words = [word.strip() for word in match.group("attrs").strip(" ()").split(",")] if match.group("attrs") else []
    if match.group("index") is not None:
        index = parse_int(match.group("index"), 10, source=source, line=number, what="a BAR index")
    else:
        index = next_index  # `lspci -v`: BARs in order, a 64-bit memory BAR taking two registers
    following = index + (2 if "64-bit" in words else 1)
    if index > 5:
        raise MemattrError(f"BAR index {index} out of range", source=source, line=number, expected="0 to 5")
    address = match.group("addr")
    tags = match.group("tags")
    size_match = _SIZE.search(tags)
    if address in ("<ignored>", "<unassigned>") or size_match is None:
        return None, following  # not assigned an address: nothing is mapped
    size = parse_int(size_match.group("size"), 10, source=source, line=number, what="a BAR size") * _UNITS[size_match.group("unit")]
    if size >= 1 << 64:
        raise MemattrError("BAR size does not fit in 64 bits", source=source, line=number, expected="a real BAR size")
    if size == 0:
        raise MemattrError("BAR of size 0", source=source, line=number, expected="a positive [size=N]")
    start = parse_int(address, 16, source=source, line=number, what="a 64-bit BAR address")
    if start + size > 1 << 64:
        raise MemattrError("BAR ends beyond the 64-bit address space", source=source, line=number,
                           expected="ADDRESS + size <= 2^64")
    return Bar(
        index=index, start=start, end=start + size - 1, memory=match.group("space") == "Memory at",
        prefetchable="prefetchable" in words, is_64bit="64-bit" in words,
        decode_off="[disabled]" in tags, virtual="[virtual]" in tags, sources=(where,),
    ), following


def _small(text: str, source: str, number: int) -> int:
    """A BAR number in an MSI-X capability line: 0 to 5."""
    bar = parse_int(text, 10, source=source, line=number, what="a BAR number")
    if bar > 5:
        raise MemattrError(f"BAR number {bar} out of range", source=source, line=number, expected="0 to 5")
    return bar
