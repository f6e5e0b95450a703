"""Stage-2 descriptor MemAttr[3:0]: all 16 values, with HCR_EL2.FWB=0 and with FEAT_S2FWB (FWB=1).

With FWB=0 the field encodes a memory type that is then *combined* with stage 1
(DDI0487 M.a D8.6.5, Table D8-96; ASL ``S2DecodeMemAttrs``).  With FWB=1 the field encodes an
*instruction* for how to treat the stage-1 attributes (D8.6.6, Tables D8-100 and D8-101; ASL
``AArch64.S2ApplyFWBMemAttrs``), so it decodes to a different sum type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Union

from memattr.arch.features import NO_FEATURES, FeatureSet, check_features
from memattr.arch.memtypes import Cacheability, DeviceKind, Unpredictable

# Stage-2 Device types (MemAttr[1:0] when the field selects Device).  ASL DecodeDevice().
S2_DEVICE_KIND: dict[int, DeviceKind] = {
    0b00: DeviceKind.nGnRnE,
    0b01: DeviceKind.nGnRE,
    0b10: DeviceKind.nGRE,
    0b11: DeviceKind.GRE,
}

# FWB=0: MemAttr[3:2] is the Outer and MemAttr[1:0] the Inner Cacheability (Table D8-96).
# ASL S2DecodeCacheability(): 0b00 is reserved when the other half is not Device.
S2_CACHEABILITY: dict[int, Cacheability | None] = {
    0b00: None,
    0b01: Cacheability.NC,
    0b10: Cacheability.WT,
    0b11: Cacheability.WB,
}


@dataclass(frozen=True, slots=True)
class S2Device:
    """FWB=0 or FWB=1: stage 2 assigns Device-<kind> (combined with stage 1, RGSDKZ / Table D8-97)."""

    kind: DeviceKind
    encoding: int

    def describe(self) -> str:
        return f"Device-{self.kind.value}"


@dataclass(frozen=True, slots=True)
class S2Normal:
    """FWB=0: stage 2 assigns Normal memory, Inner and Outer Cacheability (no allocation hints, RKTSYP)."""

    inner: Cacheability
    outer: Cacheability
    encoding: int
    notagaccess: bool = False

    def describe(self) -> str:
        text = f"Normal, Outer {self.outer.long_name}, Inner {self.inner.long_name}"
        return text + (", NoTagAccess" if self.notagaccess else "")


@dataclass(frozen=True, slots=True)
class S2FwbNonCacheable:
    """FWB=1, MemAttr[2:0]=0b101: Normal Non-cacheable, unless stage 1 is Device (Table D8-101)."""

    encoding: int

    def describe(self) -> str:
        return "Normal Non-cacheable (stage 1 Device stays Device)"


@dataclass(frozen=True, slots=True)
class S2FwbWriteBack:
    """FWB=1, MemAttr[2:0]=0b110: Normal Write-Back whatever stage 1 says (Table D8-101)."""

    encoding: int
    notagaccess: bool = False

    def describe(self) -> str:
        return "Normal Write-Back, forced" + (", NoTagAccess" if self.notagaccess else "")


@dataclass(frozen=True, slots=True)
class S2FwbStage1:
    """FWB=1, MemAttr[2:0]=0b111: the stage-1 memory type and Cacheability are used (Table D8-101)."""

    encoding: int
    notagaccess: bool = False

    def describe(self) -> str:
        return "use the stage 1 attributes" + (", NoTagAccess" if self.notagaccess else "")


S2Attr = Union[S2Device, S2Normal, S2FwbNonCacheable, S2FwbWriteBack, S2FwbStage1]


@dataclass(frozen=True, slots=True)
class S2Decoded:
    """The decoded MemAttr field: a value or UNPREDICTABLE, plus any note about the encoding."""

    encoding: int
    fwb: bool
    attr: S2Attr | Unpredictable
    notes: tuple[str, ...] = field(default=())

    @property
    def reserved(self) -> bool:
        return isinstance(self.attr, Unpredictable)

    def describe(self) -> str:
        return self.attr.describe() if not isinstance(self.attr, Unpredictable) else str(self.attr)


S2_NOFWB_SOURCE = "DDI0487 M.a D8.6.5 Table D8-96 (RHMNDG); ASL S2DecodeMemAttrs"
S2_FWB_SOURCE = "DDI0487 M.a D8.6.6 Tables D8-100, D8-101 (RRHWZM); ASL AArch64.S2ApplyFWBMemAttrs"
RESERVED_CHOICES = (
    "the encoding maps onto any allocated value",
    "the encoding has effects achievable by a combination of more than one allocated value",
    "the encoding has no functional effect",
)


def decode_s2_memattr(value: int, *, fwb: bool, features: FeatureSet = NO_FEATURES) -> S2Decoded:
    """Decode a stage-2 descriptor MemAttr[3:0] (descriptor bits [5:2])."""
    if not 0 <= value <= 0xF:
        raise ValueError(f"stage-2 MemAttr {value:#x} is not a four-bit value")
    return _decode(value, fwb, check_features(features))


@lru_cache(maxsize=None)
def _decode(value: int, fwb: bool, features: FeatureSet) -> S2Decoded:
    return _decode_fwb(value, features) if fwb else _decode_nofwb(value, features)


def _decode_nofwb(value: int, features: FeatureSet) -> S2Decoded:
    outer_bits, inner_bits = value >> 2, value & 0b11
    if outer_bits == 0b00:
        return S2Decoded(value, False, S2Device(S2_DEVICE_KIND[inner_bits], value))
    if value == 0b0100 and "MTE_PERM" in features:
        # Table D8-96: with FEAT_MTE_PERM, 0b0100 is Normal Write-Back with NoTagAccess.
        return S2Decoded(
            value, False, S2Normal(Cacheability.WB, Cacheability.WB, value, notagaccess=True)
        )
    outer, inner = S2_CACHEABILITY[outer_bits], S2_CACHEABILITY[inner_bits]
    assert outer is not None
    if inner is None:
        # ASL S2DecodeCacheability(): Constraint_NC, Constraint_WT or Constraint_WB for the reserved half.
        candidates = tuple(S2Normal(choice, outer, value) for choice in Cacheability)
        condition = " without FEAT_MTE_PERM" if value == 0b0100 else ""
        return S2Decoded(
            value,
            False,
            Unpredictable(
                what=f"reserved stage-2 MemAttr {value:#06b}{condition} (Inner Cacheability 0b00)",
                rule=f"{S2_NOFWB_SOURCE}; K1.2.19; ASL S2DecodeCacheability (Unpredictable_S2RESMEMATTR)",
                choices=(
                    "the Inner Cacheability is treated as Non-cacheable, Write-Through or Write-Back "
                    "(Constraint_NC, Constraint_WT, Constraint_WB)",
                ),
                candidates=candidates,
            ),
        )
    return S2Decoded(value, False, S2Normal(inner, outer, value))


def _decode_fwb(value: int, features: FeatureSet, candidates: bool = True) -> S2Decoded:
    mte_perm = "MTE_PERM" in features
    notes: list[str] = []
    bits = value
    if value & 0b1000 and not mte_perm:
        if not candidates:  # a RES0 violation is not an allocated value to map onto
            return _fwb_reserved(value, "", features, candidates)
        # RZNGNK: without FEAT_MTE_PERM MemAttr[3] is RES0; the ASL reads only MemAttr[2:0] for the type.
        notes.append(
            "MemAttr[3] is RES0 without FEAT_MTE_PERM (D8.6.6 RZNGNK); decoded from MemAttr[2:0] as "
            "AArch64.S2ApplyFWBMemAttrs does"
        )
        bits = value & 0b0111
    top, low = bits >> 2, bits & 0b11
    if mte_perm and top == 0b10:
        return _fwb_reserved(
            value, "MemAttr[3:2]=0b10 is Reserved with FEAT_MTE_PERM (D8.6.6 RJXGKQ)", features, candidates
        )
    if not bits & 0b0100:
        # MemAttr[2]=0 (or MemAttr[3:2]=0b00 with FEAT_MTE_PERM): Device, Table D8-100.
        return S2Decoded(value, True, S2Device(S2_DEVICE_KIND[low], value), tuple(notes))
    notag = mte_perm and top == 0b11
    if low == 0b00:
        return _fwb_reserved(
            value, "MemAttr[1:0]=0b00 with MemAttr[2]=1 is Reserved (Table D8-101)", features, candidates,
            tuple(notes),
        )
    if low == 0b01:
        if notag:
            return _fwb_reserved(value, "MemAttr[3:0]=0b1101 is Reserved (Table D8-101)", features, candidates)
        return S2Decoded(value, True, S2FwbNonCacheable(value), tuple(notes))
    if low == 0b10:
        return S2Decoded(value, True, S2FwbWriteBack(value, notagaccess=notag), tuple(notes))
    return S2Decoded(value, True, S2FwbStage1(value, notagaccess=notag), tuple(notes))


def _fwb_reserved(
    value: int, why: str, features: FeatureSet, candidates: bool, notes: tuple[str, ...] = ()
) -> S2Decoded:
    allocated: tuple[object, ...] = ()
    if candidates:
        decoded = (_decode_fwb(other, features, candidates=False) for other in range(16))
        allocated = tuple(dict.fromkeys(d.attr for d in decoded if not d.reserved))
    return S2Decoded(
        value,
        True,
        Unpredictable(
            what=f"reserved stage-2 MemAttr {value:#06b} with FWB: {why}",
            rule=f"{S2_FWB_SOURCE}; K1.2.19",
            choices=RESERVED_CHOICES,
            candidates=allocated,
        ),
        notes,
    )


def same_attribute(decoded: object, other: object) -> bool:
    """The same decoded stage-2 attribute, whatever encoding each was decoded from (a reserved value's
    candidates are allocated attributes that remember the reserved encoding)."""
    if type(decoded) is not type(other):
        return False
    return all(getattr(decoded, name) == getattr(other, name) for name in decoded.__slots__ if name != "encoding")  # type: ignore[attr-defined]


def encode_s2_memattr(attr: S2Attr) -> int:
    """The MemAttr[3:0] value of a decoded stage-2 attribute (each value remembers its encoding)."""
    return attr.encoding
