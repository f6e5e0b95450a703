"""A ``/sys/bus/pci/devices`` tree: ``resource``, ``vendor``, ``device``, ``class`` and the driver.

``resource`` has one line per resource, ``0x%016llx 0x%016llx 0x%016llx`` (start, end, flags), from
drivers/pci/pci-sysfs.c resource_show(); lines 0-5 are the BARs, 6 the expansion ROM, then bridge
windows or SR-IOV BARs.  ``driver`` is a symlink to the bound driver (``memattr collect`` stores its
name in a file of the same name when links cannot be kept).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from memattr.errors import MemattrError
from memattr.inputs import parse_int, read_text
from memattr.platform.inventory import Bar, PciDevice
from memattr.platform.ioresource import (
    IORESOURCE_DISABLED,
    IORESOURCE_IO,
    IORESOURCE_MEM,
    IORESOURCE_MEM_64,
    IORESOURCE_MEM_NONPOSTED,
    IORESOURCE_PREFETCH,
    IORESOURCE_UNSET,
    TYPE_MASK,
)

BDF = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_RESOURCE = re.compile(r"^0x([0-9a-fA-F]{1,16}) 0x([0-9a-fA-F]{1,16}) 0x([0-9a-fA-F]{1,16})$")
BAR_COUNT = 6


def parse_resource(text: str, source: str) -> tuple[Bar, ...]:
    bars = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _RESOURCE.match(line)
        if not match:
            raise MemattrError(f"not a sysfs resource line: {line[:60]!r}", source=source, line=number,
                               expected="'0xSTART 0xEND 0xFLAGS' (three 64-bit hex numbers)")
        start, end, flags = (int(group, 16) for group in match.groups())
        index = number - 1
        if index >= BAR_COUNT or flags & TYPE_MASK not in (IORESOURCE_MEM, IORESOURCE_IO):
            continue  # ROM, bridge windows and empty slots are not BARs a VMM maps
        if start == 0 and end == 0:
            continue
        if end < start:
            raise MemattrError(f"resource end {end:#x} is below its start {start:#x}", source=source,
                               line=number, expected="START <= END")
        memory = flags & TYPE_MASK == IORESOURCE_MEM
        bars.append(Bar(
            index=index, start=start, end=end, memory=memory,
            prefetchable=bool(flags & IORESOURCE_PREFETCH), is_64bit=bool(flags & IORESOURCE_MEM_64),
            nonposted=memory and bool(flags & IORESOURCE_MEM_NONPOSTED),
            disabled=bool(flags & (IORESOURCE_DISABLED | IORESOURCE_UNSET)), flags=flags,
            sources=(f"{source}:{number}",),
        ))
    return tuple(bars)


def _read_hex(path: Path, what: str, label: str) -> int | None:
    if not os.path.lexists(path):
        return None
    text = read_text(path, "sysfs", label=label).strip()
    if not re.fullmatch(r"(0x)?[0-9a-fA-F]+", text):
        raise MemattrError(f"{what} is not a hexadecimal number: {text[:40]!r}", source=label, line=1,
                           expected="0x followed by hex digits")
    return parse_int(text, 16, source=label, line=1, what=f"a hexadecimal {what} id", bits=32)


def parse_sysfs_devices(directory: str | os.PathLike[str], label: str | None = None) -> tuple[PciDevice, ...]:
    """Every ``BDF`` directory below ``directory``; ``label`` names the directory in positions."""
    root = Path(directory)
    label = label or str(root)
    if not root.is_dir():
        raise MemattrError("not a directory", source=str(root), expected="a copy of /sys/bus/pci/devices")
    devices = []
    for entry in sorted(root.iterdir()):
        if not BDF.match(entry.name):
            continue
        if not entry.is_dir():
            raise MemattrError("is not a directory", source=f"{label}/{entry.name}",
                               expected="one directory per PCI function")
        resource = entry / "resource"
        bars: tuple[Bar, ...] = ()
        where = f"{label}/{entry.name}"
        if os.path.lexists(resource):
            bars = parse_resource(read_text(resource, "sysfs", label=f"{where}/resource"), f"{where}/resource")
        driver_path = entry / "driver"
        driver = None
        if driver_path.is_symlink():
            driver = Path(os.readlink(driver_path)).name
        elif os.path.lexists(driver_path):
            driver = read_text(driver_path, "sysfs", label=f"{where}/driver").strip() or None
        devices.append(PciDevice(
            bdf=entry.name,
            vendor=_read_hex(entry / "vendor", "vendor", f"{where}/vendor"),
            device=_read_hex(entry / "device", "device", f"{where}/device"),
            class_code=_read_hex(entry / "class", "class", f"{where}/class"),
            driver=driver,
            bars=bars,
            sources=(f"{label}/{entry.name}",),
        ))
    return tuple(devices)
