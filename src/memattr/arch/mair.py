"""MAIR_ELx attribute bytes: decode all 256 values, encode memory types back.

The tables below are the register description DDI0487 M.a D24.2.127 "MAIR_EL1, Attr<n>" (the
same encoding holds for MAIR_EL2/EL3 and MAIR2_ELx).  The decode mirrors the ASL functions
``S1ConstrainUnpredictableRESMAIR`` (which values are reserved) and ``S1DecodeMemAttrs``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from memattr.arch.features import NO_FEATURES, FeatureSet, check_features
from memattr.arch.memtypes import (
    AllocHint,
    CacheAttrs,
    Cacheability,
    Device,
    DeviceKind,
    MemoryType,
    Normal,
    TagType,
    Unpredictable,
)

MAIR_SOURCE = "DDI0487 M.a D24.2.127 MAIR_EL1.Attr<n>"

# 'dd' in Attr = 0b0000dd0x.  ASL DecodeDevice().
DEVICE_KIND_ENCODING: dict[int, DeviceKind] = {
    0b00: DeviceKind.nGnRnE,
    0b01: DeviceKind.nGnRE,
    0b10: DeviceKind.nGRE,
    0b11: DeviceKind.GRE,
}


class CacheFieldRow(NamedTuple):
    """One row of the 'oooo'/'iiii' table: a pattern over the four-bit field and its meaning.

    The rows of a fact table are named tuples (immutable, and made without a dataclass's generated code
    at import: every command that decodes a MAIR byte imports this module)."""

    high_bits: int  # field[3:2]
    low_bits_nonzero: bool | None  # RW != 00 (True), RW == 00 (False), any (None)
    cacheability: Cacheability | None  # None: "See encoding of Attr" (the byte-level table)
    transient: bool
    meaning: str


# D24.2.127 'oooo' and 'iiii' tables (identical for the outer and inner field).  R and W are the
# field's bits [1:0] (Read-Allocate, Write-Allocate).  ASL DecodeLDFAttr().
CACHE_FIELD_TABLE: tuple[CacheFieldRow, ...] = (
    CacheFieldRow(0b00, False, None, False, "See encoding of Attr"),
    CacheFieldRow(0b00, True, Cacheability.WT, True, "Write-Through Transient"),
    CacheFieldRow(0b01, False, Cacheability.NC, False, "Non-cacheable"),
    CacheFieldRow(0b01, True, Cacheability.WB, True, "Write-Back Transient"),
    CacheFieldRow(0b10, None, Cacheability.WT, False, "Write-Through Non-transient"),
    CacheFieldRow(0b11, None, Cacheability.WB, False, "Write-Back Non-transient"),
)


def decode_cache_field(field: int) -> CacheAttrs | None:
    """Decode a four-bit 'oooo' or 'iiii' field; None for 0b0000 ("see encoding of Attr")."""
    high, low = field >> 2, field & 0b11
    for row in CACHE_FIELD_TABLE:
        if row.high_bits == high and (row.low_bits_nonzero is None or row.low_bits_nonzero == (low != 0)):
            if row.cacheability is None:
                return None
            hints = AllocHint.from_rw(bool(low & 0b10), bool(low & 0b01))
            return CacheAttrs(row.cacheability, hints, row.transient)
    raise AssertionError(f"CACHE_FIELD_TABLE does not cover field {field:#06b}")


class SpecialEncoding(NamedTuple):
    """A byte-level row of D24.2.127 (an encoding that is not 'oooo iiii' with both fields non-zero)."""

    value: int
    mask: int
    requires: str | None  # the feature that allocates it; None when always allocated
    meaning: str


# D24.2.127 Attr table, byte-level rows, in the order the ASL S1ConstrainUnpredictableRESMAIR tests
# them.  A value matching no row here is 'oooo iiii' with both fields non-zero: Normal memory.
SPECIAL_ENCODINGS: tuple[SpecialEncoding, ...] = (
    SpecialEncoding(0b0000_0000, 0b1111_0011, None, "Device memory, dd gives the type, XS=1"),
    SpecialEncoding(0b0000_0001, 0b1111_0011, "XS", "Device memory with XS=0, dd gives the type"),
    SpecialEncoding(0b0000_0010, 0b1111_0010, "RESERVED", "0b0000dd1x: UNPREDICTABLE"),
    SpecialEncoding(0b0100_0000, 0b1111_1111, "XS", "Normal Inner Non-cacheable, Outer Non-cacheable, XS=0"),
    SpecialEncoding(
        0b1010_0000, 0b1111_1111, "XS",
        "Normal Inner and Outer Write-Through, Read-Allocate, No Write-Allocate, Non-transient, XS=0",
    ),
    SpecialEncoding(
        0b1111_0000, 0b1111_1111, "MTE2",
        "Tagged Normal Inner and Outer Write-Back, Read-Allocate, Write-Allocate, Non-transient",
    ),
    SpecialEncoding(0b0000_0000, 0b0000_1111, "RESERVED", "0bxxxx0000 with other xxxx: UNPREDICTABLE"),
)

_XS_NC = Normal(CacheAttrs(Cacheability.NC), CacheAttrs(Cacheability.NC), xs=False)
_XS_WT = Normal(
    CacheAttrs(Cacheability.WT, AllocHint.RA), CacheAttrs(Cacheability.WT, AllocHint.RA), xs=False
)
_TAGGED_WB = Normal(
    CacheAttrs(Cacheability.WB, AllocHint.RWA),
    CacheAttrs(Cacheability.WB, AllocHint.RWA),
    xs=False,
    tags=TagType.ALLOCATION_TAGGED,
)
_SPECIAL_VALUES = {0b0100_0000: _XS_NC, 0b1010_0000: _XS_WT, 0b1111_0000: _TAGGED_WB}

RESMAIR_CHOICES = (
    "the encoding maps onto any allocated value (ASL: ConstrainUnpredictableBits(Unpredictable_RESMAIR))",
    "the encoding has effects achievable by a combination of more than one allocated value",
    "the encoding has no functional effect",
)
RESMAIR_RULE = "DDI0487 M.a D24.2.127 (UNPREDICTABLE), K1.2.19; ASL S1ConstrainUnpredictableRESMAIR"


def matching_row(attr: int) -> SpecialEncoding | None:
    for row in SPECIAL_ENCODINGS:
        if attr & row.mask == row.value:
            return row
    return None


def is_reserved(attr: int, features: FeatureSet = NO_FEATURES) -> bool:
    """ASL ``S1ConstrainUnpredictableRESMAIR`` for an AArch64 stage 1."""
    row = matching_row(attr)
    if row is None or row.requires is None:
        return False
    if row.requires == "RESERVED":
        return True
    return row.requires not in features


def decode_mair_attr(attr: int, features: FeatureSet = NO_FEATURES) -> MemoryType | Unpredictable:
    """Decode one MAIR_ELx.Attr<n> byte for an AArch64 stage 1 (ASL ``S1DecodeMemAttrs``).

    Reserved values decode to :class:`Unpredictable`, whose ``candidates`` are every memory type an
    allocated encoding gives under the same features.
    """
    if not 0 <= attr <= 0xFF:
        raise ValueError(f"MAIR attribute {attr:#x} is not a byte")
    return _decode(attr, check_features(features))


@lru_cache(maxsize=None)
def _decode(attr: int, features: FeatureSet) -> MemoryType | Unpredictable:
    if is_reserved(attr, features):
        row = matching_row(attr)
        why = row.meaning if row and row.requires == "RESERVED" else (
            f"{row.meaning} needs FEAT_{row.requires}, which is not implemented" if row else "reserved"
        )
        return Unpredictable(
            what=f"reserved MAIR encoding {attr:#04x}: {why}",
            rule=RESMAIR_RULE,
            choices=RESMAIR_CHOICES,
            candidates=allocated_types(features),
        )
    if attr >> 4 == 0:
        # 0b0000dd0x: Device; XS is NOT Attr[0] (ASL S1DecodeMemAttrs).
        return Device(DEVICE_KIND_ENCODING[(attr >> 2) & 0b11], xs=not (attr & 1))
    if attr in _SPECIAL_VALUES:
        return _SPECIAL_VALUES[attr]
    outer = decode_cache_field(attr >> 4)
    inner = decode_cache_field(attr & 0xF)
    assert outer is not None and inner is not None
    # "When FEAT_XS is implemented, stage 1 Inner Write-Back Cacheable, Outer Write-Back Cacheable
    # memory types have the XS attribute set to 0" (D24.2.127); ASL sets XS=1 otherwise.
    write_back = inner.cacheability is Cacheability.WB and outer.cacheability is Cacheability.WB
    return Normal(inner, outer, xs=not write_back)


@lru_cache(maxsize=None)
def allocated_types(features: FeatureSet) -> tuple[MemoryType, ...]:
    """Every distinct memory type that some allocated MAIR encoding gives under ``features``."""
    seen: dict[MemoryType, None] = {}
    for attr in range(256):
        if not is_reserved(attr, features):
            seen.setdefault(_decode(attr, features), None)  # type: ignore[arg-type]
    return tuple(seen)


def decode_mair(value: int, features: FeatureSet = NO_FEATURES) -> tuple[MemoryType | Unpredictable, ...]:
    """Decode a whole 64-bit MAIR_ELx register into its eight attributes, Attr0 first."""
    if not 0 <= value < 1 << 64:
        raise ValueError(f"MAIR value {value:#x} does not fit in 64 bits")
    return tuple(decode_mair_attr((value >> (8 * n)) & 0xFF, features) for n in range(8))


def encode_mair_attr(memtype: MemoryType) -> int:
    """The MAIR byte that encodes ``memtype`` exactly; ValueError if no encoding does.

    Inverse of :func:`decode_mair_attr` on allocated values (with all features implemented).
    """
    if isinstance(memtype, Device):
        dd = {kind: code for code, kind in DEVICE_KIND_ENCODING.items()}[memtype.kind]
        return (dd << 2) | (0 if memtype.xs else 1)
    for value, special in _SPECIAL_VALUES.items():
        if special == memtype:
            return value
    if memtype.tags is not TagType.UNTAGGED:
        raise ValueError(f"{memtype.describe()} has no MAIR encoding")
    attr = (_encode_field(memtype.outer) << 4) | _encode_field(memtype.inner)
    if is_reserved(attr, frozenset({"XS", "MTE2"})) or decode_mair_attr(attr, frozenset({"XS", "MTE2"})) != memtype:
        raise ValueError(f"{memtype.describe()} has no MAIR encoding")
    return attr


def _encode_field(level: CacheAttrs) -> int:
    if level.cacheability is Cacheability.NC:
        return 0b0100
    rw = (0b10 if level.hints.read_allocate else 0) | (0b01 if level.hints.write_allocate else 0)
    if level.transient and rw == 0:
        raise ValueError("a transient cacheable level needs at least one allocate hint")
    high = {
        (Cacheability.WT, True): 0b00,
        (Cacheability.WB, True): 0b01,
        (Cacheability.WT, False): 0b10,
        (Cacheability.WB, False): 0b11,
    }[(level.cacheability, level.transient)]
    return (high << 2) | rw
