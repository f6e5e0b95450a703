"""IORESOURCE_* flag bits, decoded bit by bit (include/linux/ioport.h).

The third column of a sysfs ``resource`` line is ``res->flags``; these are the bits memattr needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from memattr.linux.version import KernelVersion, v


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    value: int
    since: KernelVersion
    meaning: str


# include/linux/ioport.h (values unchanged v5.4 .. v6.18 unless noted).
FLAGS: tuple[Flag, ...] = (
    Flag("IORESOURCE_IO", 0x00000100, v("5.4"), "I/O port space"),
    Flag("IORESOURCE_MEM", 0x00000200, v("5.4"), "memory space"),
    Flag("IORESOURCE_REG", 0x00000300, v("5.4"), "register offsets (IO|MEM)"),
    Flag("IORESOURCE_IRQ", 0x00000400, v("5.4"), "interrupt"),
    Flag("IORESOURCE_DMA", 0x00000800, v("5.4"), "DMA channel"),
    Flag("IORESOURCE_BUS", 0x00001000, v("5.4"), "bus number range"),
    Flag("IORESOURCE_PREFETCH", 0x00002000, v("5.4"), "no side effects on reads (PCI prefetchable)"),
    Flag("IORESOURCE_READONLY", 0x00004000, v("5.4"), "read-only"),
    Flag("IORESOURCE_CACHEABLE", 0x00008000, v("5.4"), "cacheable"),
    Flag("IORESOURCE_RANGELENGTH", 0x00010000, v("5.4"), "range length"),
    Flag("IORESOURCE_SHADOWABLE", 0x00020000, v("5.4"), "shadowable"),
    Flag("IORESOURCE_SIZEALIGN", 0x00040000, v("5.4"), "size indicates alignment"),
    Flag("IORESOURCE_STARTALIGN", 0x00080000, v("5.4"), "start field is alignment"),
    Flag("IORESOURCE_MEM_64", 0x00100000, v("5.4"), "64-bit memory BAR"),
    Flag("IORESOURCE_WINDOW", 0x00200000, v("5.4"), "forwarded by a bridge"),
    Flag("IORESOURCE_MUXED", 0x00400000, v("5.4"), "muxed"),
    Flag("IORESOURCE_EXT_TYPE_BITS", 0x01000000, v("5.4"), "resource extended types"),
    Flag("IORESOURCE_SYSRAM", 0x01000000, v("5.4"), "System RAM (modifier)"),
    Flag("IORESOURCE_EXCLUSIVE", 0x08000000, v("5.4"), "userland may not map it"),
    Flag("IORESOURCE_DISABLED", 0x10000000, v("5.4"), "disabled"),
    Flag("IORESOURCE_UNSET", 0x20000000, v("5.4"), "no address assigned yet"),
    Flag("IORESOURCE_AUTO", 0x40000000, v("5.4"), "auto"),
    Flag("IORESOURCE_BUSY", 0x80000000, v("5.4"), "driver has marked it busy"),
)

# Bus-specific bits for IORESOURCE_MEM (ioport.h "PnP memory I/O specific bits", bits 0..7).
MEM_BITS: tuple[Flag, ...] = (
    Flag("IORESOURCE_MEM_WRITEABLE", 1 << 0, v("5.4"), "writeable"),
    Flag("IORESOURCE_MEM_CACHEABLE", 1 << 1, v("5.4"), "cacheable"),
    Flag("IORESOURCE_MEM_RANGELENGTH", 1 << 2, v("5.4"), "range length"),
    Flag("IORESOURCE_MEM_SHADOWABLE", 1 << 5, v("5.4"), "shadowable"),
    Flag("IORESOURCE_MEM_EXPANSIONROM", 1 << 6, v("5.4"), "expansion ROM"),
    Flag("IORESOURCE_MEM_NONPOSTED", 1 << 7, v("5.13"),
         "writes must be non-posted: the kernel maps it with ioremap_np (Device-nGnRnE); added with ioremap_np"),
)

IORESOURCE_MEM = 0x200
IORESOURCE_IO = 0x100
IORESOURCE_PREFETCH = 0x2000
IORESOURCE_MEM_64 = 0x100000
IORESOURCE_DISABLED = 0x10000000
IORESOURCE_UNSET = 0x20000000
IORESOURCE_MEM_NONPOSTED = 1 << 7
TYPE_MASK = 0x1F00  # IORESOURCE_TYPE_BITS


def decode_flags(value: int) -> tuple[str, ...]:
    """The names of the bits set in ``value``; the memory-specific low bits only for memory resources."""
    names = []
    kind = value & TYPE_MASK
    for flag in FLAGS:
        if flag.name in ("IORESOURCE_IO", "IORESOURCE_MEM", "IORESOURCE_REG", "IORESOURCE_IRQ",
                         "IORESOURCE_DMA", "IORESOURCE_BUS"):
            if kind == flag.value:
                names.append(flag.name)
            continue
        if flag.name == "IORESOURCE_EXT_TYPE_BITS":
            continue
        if value & flag.value:
            names.append(flag.name)
    if kind == IORESOURCE_MEM:
        names += [flag.name for flag in MEM_BITS if value & flag.value]
    unknown = value & ~(sum(f.value for f in FLAGS if f.name not in (
        "IORESOURCE_REG", "IORESOURCE_EXT_TYPE_BITS")) | 0xFF)
    if unknown:
        names.append(f"unknown:{unknown:#x}")
    return tuple(names)
