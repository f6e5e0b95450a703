"""Kernel log lines about PCI devices and BARs, the thing users paste most often.

Forms (drivers/pci/probe.c, setup-res.c, iov.c; the wording changed in v6.8), with optional
``[   1.234567]`` timestamps or a journal prefix before ``pci``:

- ``pci 0000:01:00.0: [10de:2204] type 00 class 0x030000``: vendor, device and class;
- ``pci 0000:01:00.0: reg 0x10: [mem 0x80000000-0x80ffffff 64bit pref]`` (before v6.8) and
  ``pci 0000:01:00.0: BAR 0 [mem ...]``, ``BAR 0: assigned [mem ...]``, ``BAR 0 [mem ...]: assigned``
  (v6.8+): the BARs; the last line about a BAR wins (assignment comes after probing);
- ``reg 0x30`` (a device's expansion ROM) and ``reg 0x38`` (a bridge's): not mapped by a VMM, skipped;
- SR-IOV, read by sriov_init() from the capability in extended config space:
  ``reg 0x184: [mem ... 64bit pref]`` (one VF's BAR, before v6.8) and
  ``VF(n) BAR0 space: [mem A-B 64bit pref] (contains BAR0 for 8 VFs)`` (before v6.8),
  ``VF BAR 0 [mem ...]`` / ``VF BAR 0 [mem A-B 64bit pref]: contains BAR 0 for 8 VFs`` (v6.8+);
- bridge windows (``bridge window [mem ...]``, ``BAR 13``..): not BARs a VMM maps, skipped;
- any other device message, ``nvme 0000:01:00.0: ...`` or ``mlx5_core 0000:01:00.0 eth0: ...``: dev_printk()
  and netdev_printk() start with dev_driver_string() (drivers/base/core.c), the bound driver's name, or the
  bus name ``pci`` when none is bound; the last such line names the device's driver as the log leaves it.

A config offset that is none of these is a warning with its line, never fatal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from memattr.errors import MemattrError
from memattr.inputs import parse_int
from memattr.platform.inventory import Bar, VfBar

_BDF = r"(?P<bdf>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])"
_RANGE = r"\[(?P<space>mem|io)\s++(?P<start>0x[0-9a-f]++)-(?P<end>0x[0-9a-f]++)(?P<attrs>[^\]]*+)\]"
# Possessive quantifiers: a garbled line of 100,000 hex digits must not backtrack quadratically.
_LINE = re.compile(
    rf"pci {_BDF}: "
    rf"(?:reg 0x(?P<reg>[0-9a-f]++):|(?P<vf>VF )?BAR (?P<bar>\d++):?)\s*+(?:assigned )?{_RANGE}"
    r"(?::\s*+contains BAR \d++ for (?P<count>\d++) VFs)?"
)
_VF_OLD = re.compile(rf"pci {_BDF}: VF\(n\) BAR(?P<bar>\d++) space: {_RANGE} \(contains BAR\d++ for (?P<count>\d++) VFs\)")
# The message's first word: after the timestamp, a journal's "kernel:" or nothing ("... from 0000:01:00.0: x"
# must not name a driver "from").
_DRIVER = re.compile(rf"(?:^\s*+|\]\s*+|kernel:\s*+)(?P<driver>[A-Za-z0-9_.-]{{1,64}}) {_BDF}[: ]")
_IDS = re.compile(rf"pci {_BDF}: \[(?P<vendor>[0-9a-f]{{4}}):(?P<device>[0-9a-f]{{4}})\] type (?P<type>[0-9a-f]{{1,2}}) "
                  r"class 0x(?P<cls>[0-9a-f]{6})")
# Standard header BARs (type 0: 0x10..0x24) and expansion ROMs (0x30 endpoints, 0x38 bridges).
ROM_REGS = (0x30, 0x38)
# Resource numbers of the VF BARs: PCI_IOV_RESOURCES .. PCI_IOV_RESOURCE_END (include/linux/pci.h, CONFIG_PCI_IOV).
IOV_RESOURCES = (7, 12)


@dataclass
class KernelLog:
    """What the kernel log says about PCI devices."""

    bars: dict[str, dict[int, Bar]] = field(default_factory=dict)
    ids: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # bdf -> (vendor, device, class)
    vf_bars: dict[str, dict[int, VfBar]] = field(default_factory=dict)
    drivers: dict[str, str] = field(default_factory=dict)  # bdf -> the driver its last message came from
    warnings: list[str] = field(default_factory=list)
    # The release in the boot banner, "Linux version 5.15.61-v8+ (...)" (init/version.c linux_banner).
    release: str | None = None

    def __bool__(self) -> bool:
        return bool(self.bars or self.ids or self.vf_bars)


_BANNER = re.compile(r"\bLinux version (?P<release>\d+\.\d+[^\s(]*)")


def _bar(match: re.Match[str], index: int, source: str, number: int) -> Bar:
    start = parse_int(match.group("start"), 16, source=source, line=number, what="a 64-bit address")
    end = parse_int(match.group("end"), 16, source=source, line=number, what="a 64-bit address")
    if end < start:
        raise MemattrError(f"range end {end:#x} is below its start {start:#x}", source=source, line=number,
                           expected="START <= END")
    attrs = match.group("attrs").split()
    return Bar(index=index, start=start, end=end, memory=match.group("space") == "mem",
               prefetchable="pref" in attrs, is_64bit="64bit" in attrs, disabled="disabled" in attrs,
               sources=(f"{source}:{number}",))


def parse_kmsg(text: str, source: str = "dmesg.txt") -> KernelLog:
    log = KernelLog()
    pending_vf: dict[str, list[Bar]] = {}  # pre-v6.8 "reg 0x184" lines: one VF's BAR, index from the next VF(n) line
    for number, raw in enumerate(text.splitlines(), start=1):
        if log.release is None and "Linux version " in raw:
            banner = _BANNER.search(raw)
            if banner:
                log.release = banner.group("release")
        driver = _DRIVER.search(raw)
        if driver and driver.group("driver") not in ("pci", "pci_bus"):
            log.drivers[driver.group("bdf")] = driver.group("driver")
        if "pci " not in raw:
            continue
        ids = _IDS.search(raw)
        if ids:
            log.ids[ids.group("bdf")] = (int(ids.group("vendor"), 16), int(ids.group("device"), 16),
                                         int(ids.group("cls"), 16))
            continue
        old_vf = _VF_OLD.search(raw)
        if old_vf:
            index = parse_int(old_vf.group("bar"), 10, source=source, line=number, what="a VF BAR number", bits=8)
            total = _bar(old_vf, index, source, number)
            count = parse_int(old_vf.group("count"), 10, source=source, line=number, what="a VF count", bits=16)
            _add_vf(log, old_vf.group("bdf"), index, total, count, source, number)
            continue
        match = _LINE.search(raw)
        if not match:
            continue
        bdf = match.group("bdf")
        if match.group("reg") is not None:
            reg = parse_int(match.group("reg"), 16, source=source, line=number, what="a config offset", bits=16)
            if reg in ROM_REGS:
                continue  # expansion ROM
            if 0x10 <= reg <= 0x24 and reg % 4 == 0:
                index = (reg - 0x10) // 4
                log.bars.setdefault(bdf, {})[index] = _bar(match, index, source, number)
            elif reg >= 0x100 and reg % 4 == 0:
                # A BAR register in extended config space: the SR-IOV capability's VF BARs (one VF's size).
                pending_vf.setdefault(bdf, []).append(_bar(match, -1, source, number))
            else:
                log.warnings.append(f"{source}:{number}: config offset {reg:#x} is not a BAR register; line ignored")
            continue
        index = parse_int(match.group("bar"), 10, source=source, line=number, what="a BAR number", bits=8)
        if match.group("vf"):
            bar = _bar(match, index, source, number)
            if match.group("count"):
                count = parse_int(match.group("count"), 10, source=source, line=number, what="a VF count", bits=16)
                _add_vf(log, bdf, index, bar, count, source, number)
            elif index in log.vf_bars.get(bdf, {}):
                _move_vf(log, bdf, index, bar)  # v6.8+ "VF BAR n [mem ...]: assigned"
            else:
                pending_vf.setdefault(bdf, []).append(bar)
            continue
        if IOV_RESOURCES[0] <= index <= IOV_RESOURCES[1] and index - IOV_RESOURCES[0] in log.vf_bars.get(bdf, {}):
            # Resources 7..12 are the VF BARs (PCI_IOV_RESOURCES, include/linux/pci.h): "BAR 7: assigned" moves
            # VF BAR0 after the PF's SR-IOV space was sized (before v6.8 the line names the resource number).
            _move_vf(log, bdf, index - IOV_RESOURCES[0], _bar(match, index, source, number))
            continue
        if index > 5:
            continue  # ROM (6), SR-IOV resources without VF lines and bridge windows
        log.bars.setdefault(bdf, {})[index] = _bar(match, index, source, number)
    for bdf, bars in pending_vf.items():
        if log.vf_bars.get(bdf):
            continue  # one VF's BAR, before the "VF(n) BARi space ... for N VFs" line that gives the region
        for bar in bars:
            log.warnings.append(f"{bar.sources[0]}: an SR-IOV VF BAR without a 'contains BAR n for N VFs' line; "
                                "its VF count is unknown, so it is not a region")
    return log


def _move_vf(log: KernelLog, bdf: str, index: int, bar: Bar) -> None:
    """The kernel assigned the VF BAR space elsewhere: same size and VF count, new addresses."""
    old = log.vf_bars[bdf][index]
    if bar.size != old.size:
        log.warnings.append(f"{bar.sources[0]}: VF BAR{index} reassigned with size {bar.size:#x}, not {old.size:#x}; "
                            "kept the earlier assignment")
        return
    log.vf_bars[bdf][index] = replace(old, start=bar.start, end=bar.end, sources=bar.sources + old.sources)


def _add_vf(log: KernelLog, bdf: str, index: int, total: Bar, count: int, source: str, number: int) -> None:
    if count <= 0 or total.size % count:
        log.warnings.append(f"{source}:{number}: VF BAR{index} of {total.size:#x} bytes does not split into "
                            f"{count} VFs; line ignored")
        return
    log.vf_bars.setdefault(bdf, {})[index] = VfBar(
        index=index, start=total.start, end=total.end, vf_count=count, per_vf_size=total.size // count,
        prefetchable=total.prefetchable, is_64bit=total.is_64bit, sources=total.sources)
