"""Translation table walks over hand-built tables: expectations are the addresses the tables were built
to produce (DDI0487 M.a D8.2, 4KB granule), not calls into the walker."""

from __future__ import annotations

import pytest

from memattr.arch.memtypes import Shareability
from memattr.arch.walk import stage1_regime, stage2_regime, walk
from memattr.errors import MemattrError

TABLE, BLOCK, PAGE = 0b11, 0b01, 0b11
AF = 1 << 10


class Memory(dict):  # type: ignore[type-arg]
    def read(self, address: int) -> int:
        assert address % 8 == 0
        return self.get(address, 0)


def _index(va: int, level: int) -> int:
    return (va >> (12 + 9 * (3 - level))) & 0x1FF


def test_stage1_four_levels_to_a_page_through_ttbr1():
    """T1SZ=16 (48-bit VA) starts at level 0; TTBR1 for VA[55]=1; a page's attributes are its own."""
    mem = Memory()
    va = 0xFFFF_8000_1234_5678
    tables = [0x4000_0000, 0x4000_1000, 0x4000_2000, 0x4000_3000]
    for level, (table, child) in enumerate(zip(tables, tables[1:])):
        mem[table + 8 * _index(va, level)] = child | TABLE
    page = 0x80_0010_0000
    mem[tables[3] + 8 * _index(va, 3)] = page | AF | (0b11 << 8) | (4 << 2) | (1 << 54) | (1 << 53) | PAGE
    tcr = (16 << 16) | (0b10 << 30) | (0b11 << 28) | 16  # T1SZ=16, TG1=4KB, SH1=ISH, T0SZ=16
    found = walk(stage1_regime(tcr, 0, tables[0], va), va, mem.read)
    assert found.level == 3 and found.output_address == page | 0x678
    assert found.leaf.attr_index == 4 and found.shareability is Shareability.ISH
    assert [level for level, _, _ in found.path] == [0, 1, 2, 3]


def test_stage1_block_at_level_2():
    mem = Memory()
    va = 0x0000_FFFF_9860_1234
    tables = [0x1000, 0x2000, 0x3000]
    for level, (table, child) in enumerate(zip(tables, tables[1:])):
        mem[table + 8 * _index(va, level)] = child | TABLE
    block = 0x80_0000_0000
    mem[tables[2] + 8 * _index(va, 2)] = block | AF | (3 << 2) | (0b11 << 6) | BLOCK
    tcr = 16  # T0SZ=16, TG0=4KB
    found = walk(stage1_regime(tcr, tables[0], 0, va), va, mem.read)
    assert found.level == 2 and found.output_address == block | (va & 0x1F_FFFF)
    assert found.leaf.attr_index == 3 and found.leaf.ap == 0b11


def test_lpa2_five_levels_and_output_address_bits_51_50():
    """TCR.DS=1, T1SZ=12: 52-bit VA from level -1 (16 entries); OA[51:50] in descriptor bits [9:8];
    shareability from TCR.SH1 (D8.3.1.2)."""
    mem = Memory()
    va = 0xFFF0_0000_0000_0000 | (0x5 << 48) | (0x1A3 << 39) | (0x0F0 << 30) | (0x011 << 21) | (0x0AB << 12) | 0x10
    tables = [0x4100_0000, 0x4100_1000, 0x4100_2000, 0x4100_3000, 0x4100_4000]
    mem[tables[0] + 8 * 0x5] = tables[1] | TABLE
    for level, (table, child) in zip(range(0, 3), zip(tables[1:], tables[2:])):
        mem[table + 8 * _index(va, level)] = child | TABLE
    page_oa = (0b10 << 50) | (0b01 << 48) | 0x1234_5000
    descriptor = (page_oa & 0x0003_FFFF_FFFF_F000) | ((page_oa >> 50) << 8) | AF | (2 << 2) | PAGE
    mem[tables[4] + 8 * _index(va, 3)] = descriptor
    tcr = (1 << 59) | (12 << 16) | (0b10 << 30) | (0b10 << 28) | 12
    ttbr1 = tables[0]
    regime = stage1_regime(tcr, 0, ttbr1, va)
    assert regime.start_level == -1
    found = walk(regime, va, mem.read)
    assert found.output_address == page_oa | 0x10
    assert found.leaf.attr_index == 2 and found.shareability is Shareability.OSH
    assert [level for level, _, _ in found.path] == [-1, 0, 1, 2, 3]


def test_stage2_concatenated_start_level_and_memattr():
    """VTCR_EL2.T0SZ=24 (40-bit IPA) with SL0=0b01 starts at level 1 with two concatenated tables:
    IPA[39:30] indexes 1,024 entries (D8.2.9)."""
    mem = Memory()
    ipa = (0x2A5 << 30) | (0x033 << 21) | 0x1_2345
    base = 0x4300_0000
    level2 = 0x4310_0000
    mem[base + 8 * 0x2A5] = level2 | TABLE
    block = 0x80_0020_0000
    mem[level2 + 8 * 0x033] = block | AF | (0b11 << 6) | (0b0101 << 2) | (1 << 11) | BLOCK
    vtcr = 24 | (0b01 << 6) | (0b11 << 12)
    found = walk(stage2_regime(vtcr, (7 << 48) | base), ipa, mem.read)
    assert found.level == 2 and found.output_address == block | (ipa & 0x1F_FFFF)
    assert found.leaf.memattr == 0b0101 and found.leaf.fnxs == 1 and found.leaf.s2ap == 0b11


def test_guest_tables_are_read_through_stage_2():
    mem = Memory()
    ipa_table, pa_table = 0x4000_1000, 0x9000_1000
    mem[pa_table + 8 * 0] = 0x0 | AF | (4 << 2) | BLOCK  # level-1 block: IPA 0-1GiB identity
    tcr = 25  # T0SZ=25: 39-bit VA, level 1
    found = walk(stage1_regime(tcr, ipa_table, 0, 0x1000_0000), 0x1000_0000, mem.read,
                 table_address=lambda ipa: ipa - ipa_table + pa_table)
    assert found.level == 1 and found.output_address == 0x1000_0000 and found.leaf.attr_index == 4


def test_an_unmapped_address_is_an_error_naming_the_level():
    with pytest.raises(MemattrError, match="invalid descriptor .* at level 0"):
        walk(stage1_regime(16, 0x1000, 0, 0x1234), 0x1234, Memory().read)


def test_granules_other_than_4kb_are_refused():
    with pytest.raises(MemattrError, match="4KB granule"):
        stage1_regime(16 | (0b01 << 14), 0, 0, 0x1000)
    with pytest.raises(MemattrError, match="4KB granule"):
        stage2_regime(24 | (0b10 << 14), 0)
