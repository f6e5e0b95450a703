"""Kernel log lines about PCI BARs, the thing users paste most often.

Forms (drivers/pci/probe.c, setup-res.c; the wording changed in v6.8):
``pci 0000:01:00.0: reg 0x10: [mem 0x80000000-0x80ffffff 64bit pref]`` (before v6.8),
``pci 0000:01:00.0: BAR 0 [mem 0x80000000-0x80ffffff 64bit pref]`` (v6.8+),
``pci 0000:01:00.0: BAR 0: assigned [mem 0x80000000-0x80ffffff 64bit pref]`` and
``pci 0000:01:00.0: BAR 0 [mem ...]: assigned`` (v6.8+).  Optional ``[   1.234567]`` timestamps are
skipped; other lines are ignored.
"""

from __future__ import annotations

import re

from memattr.errors import MemattrError
from memattr.inputs import parse_int
from memattr.platform.inventory import Bar

# Possessive quantifiers: a garbled line of 100,000 hex digits must not backtrack quadratically.
_LINE = re.compile(
    r"pci (?P<bdf>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): "
    r"(?:reg 0x(?P<reg>[0-9a-f]++):|BAR (?P<bar>\d++):?)\s*+(?:assigned )?"
    r"\[(?P<space>mem|io)\s++(?P<start>0x[0-9a-f]++)-(?P<end>0x[0-9a-f]++)(?P<attrs>[^\]]*+)\]"
)


def parse_kmsg(text: str, source: str = "dmesg.txt") -> dict[str, dict[int, Bar]]:
    """BARs per device, the last line about a BAR winning (assignment comes after probing)."""
    found: dict[str, dict[int, Bar]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        match = _LINE.search(raw)
        if not match:
            continue
        if match.group("reg") is not None:
            reg = parse_int(match.group("reg"), 16, source=source, line=number, what="a config offset")
            if reg == 0x30:
                continue  # expansion ROM
            if not 0x10 <= reg <= 0x24 or reg % 4:
                raise MemattrError(f"config offset {reg:#x} is not a BAR register", source=source, line=number,
                                   expected="reg 0x10 .. 0x24")
            index = (reg - 0x10) // 4
        else:
            index = parse_int(match.group("bar"), 10, source=source, line=number, what="a BAR number")
            if index > 5:
                continue  # bridge windows and SR-IOV BARs are numbered above 5
        start = parse_int(match.group("start"), 16, source=source, line=number, what="a 64-bit address")
        end = parse_int(match.group("end"), 16, source=source, line=number, what="a 64-bit address")
        if end < start:
            raise MemattrError(f"range end {end:#x} is below its start {start:#x}", source=source, line=number,
                               expected="START <= END")
        attrs = match.group("attrs").split()
        found.setdefault(match.group("bdf"), {})[index] = Bar(
            index=index, start=start, end=end, memory=match.group("space") == "mem",
            prefetchable="pref" in attrs, is_64bit="64bit" in attrs, disabled="disabled" in attrs,
            sources=(f"{source}:{number}",),
        )
    return found
