"""VMSAv8-64 translation table walks with the 4KB granule, stage 1 and stage 2, over any memory reader.

This follows the ASL walk (``AArch64.S1Walk`` / ``AArch64.S2Walk``, DDI0487 M.a J1) for what a
finished, valid walk of a live system needs: the start level (``AArch64.S1StartLevel``: from TxSZ;
``AArch64.S2StartLevel``: from VTCR_EL2.SL0/SL2, with concatenated tables at the start level), the
next-table and output addresses with and without TCR.DS (FEAT_LPA2: OA[51:50] in descriptor bits
[9:8] and shareability taken from the TCR, D8.3.1.2), and the leaf's attributes decoded by
:mod:`memattr.arch.descriptors`.  It does not model faults other than "no valid leaf", hierarchical
permissions, or the 16KB/64KB granules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from memattr.arch.descriptors import SHAREABILITY_ENCODING, LeafDescriptor, decode_descriptor
from memattr.arch.memtypes import Shareability
from memattr.errors import MemattrError

ReadPhysical = Callable[[int], int]  # a 64-bit little-endian word at a physical address

GRANULE_BITS = 12
STRIDE = 9  # 4KB granule: each level resolves 9 bits (D8.2.7)


@dataclass(frozen=True, slots=True)
class Regime:
    """What a walk needs from the system registers of one translation (TTBR/VTTBR and TCR/VTCR)."""

    stage: Literal[1, 2]
    base: int  # the start-level table's physical (stage 2: or intermediate physical) address
    tsz: int  # T0SZ/T1SZ: the input address size is 64 - tsz
    start_level: int
    ds: bool = False  # TCR.DS / VTCR_EL2.DS: 52-bit addresses with the 4KB granule (FEAT_LPA2)
    shareability_field: int = 0  # TCR.SHx / VTCR_EL2.SH0, the shareability of a DS=1 leaf

    @property
    def input_bits(self) -> int:
        return 64 - self.tsz


@dataclass(frozen=True, slots=True)
class Walk:
    """A finished walk: the leaf, its level, the descriptors read on the way and the output address."""

    address: int
    output_address: int
    level: int
    descriptor: int
    leaf: LeafDescriptor
    shareability: Shareability | None
    path: tuple[tuple[int, int, int], ...]  # (level, descriptor address, descriptor) per level


def _ttbr_base(ttbr: int, ds: bool) -> int:
    # TTBR_ELx.BADDR is bits [47:1] (bit 0 is CnP); with DS=1 BADDR[51:48] is in bits [5:2] and the
    # table is at least 64-byte aligned (D19.2 TTBR0_EL1.BADDR).
    if ds:
        return (ttbr & 0x0000_FFFF_FFFF_FFC0) | (((ttbr >> 2) & 0xF) << 48)
    return ttbr & 0x0000_FFFF_FFFF_FFFE


def _s1_start_level(tsz: int) -> int:
    # ASL AArch64.S1StartLevel: 4KB granule, FINAL_LEVEL - ((iasize - 1 - granulebits) DIV stride).
    return 3 - ((64 - tsz - 1 - GRANULE_BITS) // STRIDE)


def stage1_regime(tcr: int, ttbr0: int, ttbr1: int, address: int) -> Regime:
    """The stage-1 regime that translates ``address`` under a TCR_EL1-format TCR (also TCR_EL2 with E2H=1)."""
    ds = bool((tcr >> 59) & 1)
    upper = bool((address >> 55) & 1)  # VA[55] selects TTBR1 (D8.2.3)
    if upper:
        tsz, sh, ttbr, tg = (tcr >> 16) & 0x3F, (tcr >> 28) & 3, ttbr1, (tcr >> 30) & 3
        if tg != 0b10:
            raise MemattrError(f"TCR.TG1={tg:#04b} is not the 4KB granule", expected="TG1=0b10")
        if (tcr >> 23) & 1:
            raise MemattrError("TCR.EPD1 is 1: no walks of TTBR1 addresses", expected="EPD1=0")
    else:
        tsz, sh, ttbr, tg = tcr & 0x3F, (tcr >> 12) & 3, ttbr0, (tcr >> 14) & 3
        if tg != 0b00:
            raise MemattrError(f"TCR.TG0={tg:#04b} is not the 4KB granule", expected="TG0=0b00")
    return Regime(1, _ttbr_base(ttbr, ds), tsz, _s1_start_level(tsz), ds, sh)


def stage2_regime(vtcr: int, vttbr: int) -> Regime:
    """The stage-2 regime of VTCR_EL2/VTTBR_EL2 (ASL ``AArch64.S2StartLevel``, 4KB granule)."""
    tsz, sl0, tg, sh = vtcr & 0x3F, (vtcr >> 6) & 3, (vtcr >> 14) & 3, (vtcr >> 12) & 3
    ds, sl2 = bool((vtcr >> 32) & 1), bool((vtcr >> 33) & 1)
    if tg != 0b00:
        raise MemattrError(f"VTCR_EL2.TG0={tg:#04b} is not the 4KB granule", expected="TG0=0b00")
    if ds and sl2:
        level = -1
    else:
        # 4KB: SL0 0b00 -> level 2, 0b01 -> 1, 0b10 -> 0, 0b11 -> 3 (FEAT_TTST).
        level = {0: 2, 1: 1, 2: 0, 3: 3}[sl0]
    # VTTBR_EL2.BADDR as TTBR, without the VMID in bits [63:48].
    return Regime(2, _ttbr_base(vttbr & 0x0000_FFFF_FFFF_FFFF, ds), tsz, level, ds, sh)


def _next_address(descriptor: int, ds: bool) -> int:
    # Table and leaf descriptors: OA[47:12] in bits [47:12]; with DS=1 OA[49:48] in [49:48] and
    # OA[51:50] in bits [9:8] (D8.3.1.2).
    if ds:
        return (descriptor & 0x0003_FFFF_FFFF_F000) | (((descriptor >> 8) & 3) << 50)
    return descriptor & 0x0000_FFFF_FFFF_F000


def walk(regime: Regime, address: int, read: ReadPhysical,
         table_address: Callable[[int], int] | None = None) -> Walk:
    """Walk ``address`` to its leaf.  ``table_address`` maps each table's address to the physical
    address to read (a guest's stage-1 tables are intermediate physical addresses: pass its stage-2
    translation); by default table addresses are physical."""
    mask_in = (1 << regime.input_bits) - 1
    level = regime.start_level
    table = regime.base
    path: list[tuple[int, int, int]] = []
    while True:
        shift = GRANULE_BITS + STRIDE * (3 - level)
        # At the start level the index takes every remaining input bit (stage 2 may concatenate tables).
        width = (regime.input_bits - shift) if level == regime.start_level else STRIDE
        index = ((address & mask_in) >> shift) & ((1 << width) - 1)
        where = table + 8 * index
        physical = table_address(where) if table_address else where
        descriptor = read(physical)
        path.append((level, physical, descriptor))
        kind = descriptor & 0b11
        if not kind & 1:
            raise MemattrError(f"{address:#x}: invalid descriptor {descriptor:#018x} at level {level} "
                               f"(table {table:#x})", expected="a mapped address")
        if kind == 0b11 and level < 3:
            table = _next_address(descriptor, regime.ds)
            level += 1
            continue
        if kind == 0b01 and level == 3:
            raise MemattrError(f"{address:#x}: reserved descriptor {descriptor:#018x} at level 3")
        block_mask = (1 << shift) - 1
        output = (_next_address(descriptor, regime.ds) & ~block_mask) | (address & block_mask)
        # decode_descriptor reads the attribute fields; with DS=1 bits [9:8] are OA[51:50], not SH, and a
        # level-0 block (DS=1 only) has the same attribute fields as a level-1 block.
        leaf = decode_descriptor(descriptor & ~0x300 if regime.ds else descriptor, stage=regime.stage,
                                 level=max(level, 1))
        share = SHAREABILITY_ENCODING[regime.shareability_field] if regime.ds else leaf.shareability
        return Walk(address, output, level, descriptor, leaf, share, tuple(path))
