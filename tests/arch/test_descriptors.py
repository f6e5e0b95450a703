"""Descriptor encode/decode round trips (D8.3 Block and Page descriptors, 4KB granule)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memattr.arch.descriptors import (
    LEVEL_BLOCK_SHIFT,
    STAGE1_FIELDS,
    STAGE2_FIELDS,
    LeafDescriptor,
    decode_descriptor,
    encode_descriptor,
)
from memattr.errors import MemattrError


@st.composite
def leaves(draw):
    stage = draw(st.sampled_from([1, 2]))
    level = draw(st.sampled_from([1, 2, 3]))
    shift = LEVEL_BLOCK_SHIFT[level]
    oa = draw(st.integers(0, (1 << (48 - shift)) - 1)) << shift
    specs = STAGE1_FIELDS if stage == 1 else STAGE2_FIELDS
    values = {spec.name: draw(st.integers(0, (1 << spec.width) - 1)) for spec in specs}
    return LeafDescriptor(stage=stage, level=level, output_address=oa, **values)


@given(leaves())
def test_decode_encode_round_trip(descriptor):
    """encode then decode gives the same fields back."""
    assert decode_descriptor(encode_descriptor(descriptor), stage=descriptor.stage, level=descriptor.level) == descriptor


@given(st.integers(0, (1 << 64) - 1), st.sampled_from([1, 2]), st.sampled_from([1, 2, 3]))
def test_every_valid_leaf_value_round_trips_exactly(value, stage, level):
    """Any 64-bit value that is a leaf at that level decodes and re-encodes to the same bits."""
    try:
        decoded = decode_descriptor(value, stage=stage, level=level)
    except MemattrError:
        assert value & 0b11 != (0b11 if level == 3 else 0b01)
        return
    assert encode_descriptor(decoded) == value


def test_known_stage1_page():
    # A Linux PAGE_KERNEL-like entry: AttrIndx=1 (MT_NORMAL), SH=ISH, AF, PXN|UXN.
    value = 0x0060000080000707
    decoded = decode_descriptor(value, stage=1, level=3)
    assert (decoded.attr_index, decoded.sh, decoded.af, decoded.pxn, decoded.uxn) == (1, 0b11, 1, 1, 1)
    assert decoded.output_address == 0x80000000


def test_known_stage2_page():
    # MemAttr=0b0101 (Normal-NC), S2AP=RW, SH=ISH, AF, XN[1:0]=0b10.
    value = (0b0101 << 2) | (0b11 << 6) | (0b11 << 8) | (1 << 10) | (0b10 << 53) | 0x12345000 | 0b11
    decoded = decode_descriptor(value, stage=2, level=3)
    assert (decoded.memattr, decoded.s2ap, decoded.sh, decoded.af, decoded.xn) == (0b0101, 0b11, 0b11, 1, 0b10)


@pytest.mark.parametrize("value,level", [(0x0, 3), (0x1, 3), (0x3, 2), (0x2, 1)])
def test_non_leaf_values_are_errors(value, level):
    with pytest.raises(MemattrError):
        decode_descriptor(value, stage=1, level=level)


def test_encode_rejects_fields_of_the_other_stage():
    with pytest.raises(ValueError):
        encode_descriptor(LeafDescriptor(stage=1, level=3, output_address=0, memattr=5))
