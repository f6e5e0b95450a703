"""MAIR encode is the inverse of decode on every allocated byte."""

from __future__ import annotations

from memattr.arch.mair import decode_mair, decode_mair_attr, encode_mair_attr, is_reserved
from memattr.arch.memtypes import CANONICAL_NAMES, Unpredictable, parse_memory_type

ALL = frozenset({"XS", "MTE2"})


def test_encode_decode_all_allocated_bytes():
    for byte in range(256):
        if is_reserved(byte, ALL):
            continue
        assert encode_mair_attr(decode_mair_attr(byte, ALL)) == byte, hex(byte)


def test_linux_mair_value_decodes():
    # The MAIR_EL1 value Linux v6.6 programs (arch/arm64/include/asm/memory.h MT_* indexes 0..4):
    # nGnRnE 0x00, nGnRE 0x04, NORMAL_NC 0x44, NORMAL 0xff, NORMAL_TAGGED 0xff (0xf0 with MTE).
    names = [a.short_name for a in decode_mair(0x000000FFFF440400)]
    assert names[:5] == ["Device-nGnRnE", "Device-nGnRE", "Normal-iNC-oNC", "Normal-iWB-oWB", "Normal-iWB-oWB"]


def test_canonical_names_parse_and_print():
    for name in CANONICAL_NAMES:
        assert parse_memory_type(name).short_name == name


def test_unpredictable_names_choices():
    value = decode_mair_attr(0x10)
    assert isinstance(value, Unpredictable)
    assert value.short_name == "UNPREDICTABLE"
    assert len(value.choices) == 3 and value.candidates
