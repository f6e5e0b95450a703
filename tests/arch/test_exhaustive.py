"""Every MAIR byte x every stage-2 MemAttr x FWB off/on x feature sets, against the spec oracle."""

from __future__ import annotations

import itertools

import pytest

from memattr.arch.combine import Controls, combine
from memattr.arch.mair import decode_mair_attr
from memattr.arch.matrix import matrix
from memattr.arch.memtypes import Device, MemoryAttributes, Normal, TagType, Unpredictable
from memattr.arch.stage2 import decode_s2_memattr

from . import spec_oracle as spec

FEATURE_SETS = [frozenset(), frozenset({"XS"}), frozenset({"MTE2"}), frozenset({"XS", "MTE2"})]


@pytest.mark.parametrize("features", FEATURE_SETS, ids=lambda f: "+".join(sorted(f)) or "none")
def test_every_mair_byte_decodes_as_d24_2_127_says(features):
    """D24.2.127: every Attr<n> value is Device, Normal or UNPREDICTABLE; FEAT_XS/MTE2 allocate extra values."""
    reserved = 0
    for byte in range(256):
        got = decode_mair_attr(byte, features)
        want = spec.mair(byte, features)
        if want == spec.UNP:
            assert isinstance(got, Unpredictable), f"{byte:#04x} should be reserved"
            reserved += 1
            continue
        assert not isinstance(got, Unpredictable), f"{byte:#04x} should be allocated"
        assert got.short_name == want["name"], f"{byte:#04x}"
        assert int(got.xs) == want["xs"], f"{byte:#04x} XS"
        assert (isinstance(got, Normal) and got.tags is TagType.ALLOCATION_TAGGED) == want["tagged"], f"{byte:#04x}"
    # Counts follow from the table: 12 reserved 0b0000xxxx without XS (8 with), and 15 0bxxxx0000.
    expected = (12 if "XS" not in features else 8) + 15 - (2 if "XS" in features else 0) - (1 if "MTE2" in features else 0)
    assert reserved == expected


def test_mair_hints_and_transience():
    """D24.2.127: 0b00RW/0b01RW are Transient, 0b10RW/0b11RW Non-transient; R and W are the allocate hints."""
    for field in range(1, 16):
        if field == 0b0100:
            continue
        byte = (field << 4) | field
        got = decode_mair_attr(byte)
        assert isinstance(got, Normal)
        for level in (got.inner, got.outer):
            assert level.transient == (field >> 3 == 0), hex(byte)
            assert level.hints.read_allocate == bool(field & 0b10), hex(byte)
            assert level.hints.write_allocate == bool(field & 0b01), hex(byte)


@pytest.mark.parametrize("fwb", [False, True])
@pytest.mark.parametrize("mte_perm", [False, True])
def test_every_stage2_memattr(fwb, mte_perm):
    """Tables D8-96 (FWB=0) and D8-100/D8-101 (FWB=1): all 16 values, reserved ones flagged."""
    features = frozenset({"MTE_PERM"}) if mte_perm else frozenset()
    for value in range(16):
        decoded = decode_s2_memattr(value, fwb=fwb, features=features)
        if not fwb:
            want = spec.S2_NOFWB[value]
            if value == 0b0100 and mte_perm:
                assert not decoded.reserved and decoded.attr.notagaccess
                continue
            assert decoded.reserved == (want is None), bin(value)
        else:
            if mte_perm:
                reserved = (value >> 2) == 0b10 or value in (0b0100, 0b1100, 0b1101)
            else:
                reserved = (value & 0b111) == 0b100
                assert bool(decoded.notes) == bool(value & 0b1000), "RES0 MemAttr[3] is reported"
            assert decoded.reserved == reserved, bin(value)


@pytest.mark.slow
@pytest.mark.parametrize("features", FEATURE_SETS, ids=lambda f: "+".join(sorted(f)) or "none")
@pytest.mark.parametrize("fwb", [False, True], ids=["fwb0", "fwb1"])
def test_every_cell_of_the_matrix(fwb, features):
    """All 256 x 16 cells: memory type, Shareability, XS and Tagged against Tables D8-96..D8-101."""
    controls = Controls(fwb=fwb)
    mismatches = []
    for s1, s2 in itertools.product(range(256), range(16)):
        got = combine(s1, s2, controls=controls, features=features)
        want = spec.combine(s1, s2, fwb, features)
        if want == spec.UNP:
            if not got.unpredictable:
                mismatches.append((s1, s2, "expected UNPREDICTABLE", got.memory_type))
            continue
        result = got.result
        assert isinstance(result, MemoryAttributes), (hex(s1), s2)
        observed = {
            "name": result.memtype.short_name,
            "shareability": result.shareability.value,
            "xs": int(result.memtype.xs),
            "tagged": isinstance(result.memtype, Normal) and result.memtype.tags is TagType.ALLOCATION_TAGGED,
        }
        if observed != want:
            mismatches.append((hex(s1), bin(s2), want, observed))
    assert not mismatches, mismatches[:10]


@pytest.mark.parametrize("fwb", [False, True])
def test_reserved_stage1_over_device_stage2_is_still_device(fwb):
    """Every allocated value a reserved MAIR byte may map onto meets stage-2 Device-nGnRnE: result is Device-nGnRnE."""
    got = combine(0x02, 0b0000, controls=Controls(fwb=fwb))
    assert got.memory_type == "UNPREDICTABLE"
    assert {p.short_name for p in got.possible} == {"Device-nGnRnE"}


def test_reserved_stage1_over_normal_wb_stage2_can_be_anything_stage1_can():
    """With FWB=0 and stage 2 Normal WB (0b1111) the combined type is stage 1's (IMCQKW), so all classes occur."""
    got = combine(0x02, 0b1111)
    names = {p.short_name for p in got.possible}
    assert {"Device-nGnRnE", "Device-nGnRE", "Device-nGRE", "Device-GRE"} <= names
    assert {"Normal-iNC-oNC", "Normal-iWB-oWB", "Normal-iWT-oWT", "Normal-iWB-oNC"} <= names


def test_reserved_stage2_inner_field_offers_nc_wt_wb():
    """ASL S2DecodeCacheability: a reserved Inner field is Constraint_NC, _WT or _WB; stage-1 WB then gives all three."""
    got = combine(0xFF, 0b1100)
    assert {p.short_name for p in got.possible} == {"Normal-iNC-oWB", "Normal-iWT-oWB", "Normal-iWB-oWB"}
    assert "Constraint_NC" in got.result.choices[0]


@pytest.mark.parametrize("fwb", [False, True])
@pytest.mark.parametrize("features", [frozenset(), frozenset({"XS"}), frozenset({"MTE2"}),
                                      frozenset({"XS", "MTE2", "MTE_PERM"})])
def test_matrix_possible_types_of_reserved_cells_equal_the_constrained_choices(fwb, features):
    """K1.2.19: a reserved encoding behaves as an allocated one; the matrix reads the possible types of a
    reserved cell off the allocated cells, which must equal what Combination.possible computes."""
    from memattr.arch.matrix import matrix

    reserved = [cell for cell in matrix(fwb=fwb, features=features) if cell.unpredictable]
    assert reserved
    for cell in reserved:
        assert list(cell.possible_names) == sorted({p.short_name for p in cell.combination.possible}), (cell.s1, cell.s2)


@pytest.mark.parametrize("features", [frozenset(), frozenset({"XS", "MTE2", "MTE_PERM"})], ids=["none", "all"])
@pytest.mark.parametrize("fwb", [False, True], ids=["fwb0", "fwb1"])
def test_matrix_cells_are_the_combination_of_their_inputs(fwb, features):
    """The matrix translates allocated cells without building explanations: each result equals combine()'s,
    and each cell's on-demand combination is that same combination."""
    cells = matrix(fwb=fwb, features=features)
    assert len(cells) == 256 * 16
    controls = Controls(fwb=fwb)
    for cell in cells:
        full = combine(cell.s1, cell.s2, controls=controls, features=features)
        assert cell.result == full.result, (hex(cell.s1), cell.s2)
        assert cell.unpredictable == full.unpredictable and cell.memory_type == full.memory_type
    sample = cells[0x44 * 16 + 0x1]
    assert sample.combination.result == sample.result and sample.combination.explanation
