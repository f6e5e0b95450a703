"""VMSAv8-64 stage-1 and stage-2 leaf descriptors, 4KB granule, 48-bit output address.

Field layout from DDI0487 M.a D8.3 "Translation table descriptor formats" (Block and Page
descriptors; the stage-2 attribute fields of D8.3.2) — one table per stage, from which decode and
encode both derive.  Bits that no field names are kept verbatim in ``other_bits`` so that
``encode(decode(x)) == x`` for every 64-bit value that is a valid leaf.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from memattr.arch.memtypes import Shareability
from memattr.errors import MemattrError

GRANULE_SHIFT = 12  # 4KB granule
OA_TOP = 47  # 48-bit OA (without FEAT_LPA/FEAT_LPA2)

# D8.3: bits[1:0] of a descriptor.  A leaf is a Block descriptor (0b01, levels 1 and 2 with 4KB)
# or a Page descriptor (0b11 at level 3).
LEVEL_BLOCK_SHIFT = {1: 30, 2: 21, 3: 12}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    lsb: int
    width: int
    meaning: str


# Stage-1 Block/Page descriptor attribute fields (D8.3.1, lower and upper attributes).
STAGE1_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("attr_index", 2, 3, "AttrIndx[2:0]: selects MAIR_ELx.Attr<n>"),
    FieldSpec("ns", 5, 1, "NS: Non-secure output address space (Secure state only)"),
    FieldSpec("ap", 6, 2, "AP[2:1]: data access permissions"),
    FieldSpec("sh", 8, 2, "SH[1:0]: Shareability (D8.6.2)"),
    FieldSpec("af", 10, 1, "AF: Access flag"),
    FieldSpec("ng", 11, 1, "nG: not global"),
    FieldSpec("gp", 50, 1, "GP: Guarded Page (FEAT_BTI)"),
    FieldSpec("dbm", 51, 1, "DBM: Dirty Bit Modifier"),
    FieldSpec("contiguous", 52, 1, "Contiguous hint"),
    FieldSpec("pxn", 53, 1, "PXN: Privileged execute-never"),
    FieldSpec("uxn", 54, 1, "UXN/XN: Unprivileged execute-never"),
    FieldSpec("software", 55, 4, "reserved for software use"),
)

# Stage-2 Block/Page descriptor attribute fields (D8.3.2).
STAGE2_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("memattr", 2, 4, "MemAttr[3:0]: stage-2 memory type (D8.6.5, D8.6.6)"),
    FieldSpec("s2ap", 6, 2, "S2AP[1:0]: stage-2 access permissions"),
    FieldSpec("sh", 8, 2, "SH[1:0]: Shareability (D8.6.7)"),
    FieldSpec("af", 10, 1, "AF: Access flag"),
    FieldSpec("fnxs", 11, 1, "FnXS: forces XS=0 (FEAT_XS)"),
    FieldSpec("dbm", 51, 1, "DBM: Dirty Bit Modifier"),
    FieldSpec("contiguous", 52, 1, "Contiguous hint"),
    FieldSpec("xn", 53, 2, "XN[1:0]: execute-never (XN[0] is bit 53 with FEAT_XNX, else RES0)"),
    FieldSpec("software", 55, 4, "reserved for software use"),
)

# SH[1:0] (Tables in D8.6.2 and D8.6.7); 0b01 is reserved (ASL DecodeShareability: Constraint_OSH/ISH/NSH).
SHAREABILITY_ENCODING: dict[int, Shareability | None] = {
    0b00: Shareability.NSH,
    0b01: None,
    0b10: Shareability.OSH,
    0b11: Shareability.ISH,
}
SHAREABILITY_CODE = {share: code for code, share in SHAREABILITY_ENCODING.items() if share is not None}

Stage = Literal[1, 2]


@dataclass(frozen=True, slots=True)
class LeafDescriptor:
    """A decoded Block or Page descriptor.  Fields not used by ``stage`` are zero."""

    stage: Stage
    level: int
    output_address: int
    attr_index: int = 0
    ns: int = 0
    ap: int = 0
    memattr: int = 0
    s2ap: int = 0
    sh: int = 0
    af: int = 0
    ng: int = 0
    fnxs: int = 0
    gp: int = 0
    dbm: int = 0
    contiguous: int = 0
    pxn: int = 0
    uxn: int = 0
    xn: int = 0
    software: int = 0
    other_bits: int = 0  # bits outside every field: RES0 or ignored; kept for exact round trips

    @property
    def shareability(self) -> Shareability | None:
        """Decoded SH[1:0]; None for the reserved 0b01 (CONSTRAINED UNPREDICTABLE)."""
        return SHAREABILITY_ENCODING[self.sh]

    @property
    def kind(self) -> str:
        return "page" if self.level == 3 else "block"

    def field_values(self) -> dict[str, int]:
        specs = STAGE1_FIELDS if self.stage == 1 else STAGE2_FIELDS
        return {spec.name: getattr(self, spec.name) for spec in specs}


def _specs(stage: Stage) -> tuple[FieldSpec, ...]:
    if stage not in (1, 2):
        raise ValueError(f"stage must be 1 or 2, not {stage!r}")
    return STAGE1_FIELDS if stage == 1 else STAGE2_FIELDS


def _oa_mask(level: int) -> int:
    shift = LEVEL_BLOCK_SHIFT[level]
    return ((1 << (OA_TOP + 1)) - 1) & ~((1 << shift) - 1)


def decode_descriptor(value: int, *, stage: Stage, level: int = 3) -> LeafDescriptor:
    """Decode a 64-bit Block (levels 1, 2) or Page (level 3) descriptor of the 4KB granule.

    Raises MemattrError when the value is not a valid leaf at that level (invalid, or a Table
    descriptor), because then there are no attributes to decode.
    """
    if not 0 <= value < 1 << 64:
        raise MemattrError(f"descriptor {value:#x} does not fit in 64 bits", expected="a 64-bit value")
    if level not in LEVEL_BLOCK_SHIFT:
        raise MemattrError(f"level {level} has no leaf descriptors with the 4KB granule", expected="level 1, 2 or 3")
    low = value & 0b11
    if not low & 1:
        raise MemattrError(f"descriptor {value:#018x} is invalid (bit 0 is 0)", expected="a valid leaf descriptor")
    wanted = 0b11 if level == 3 else 0b01
    if low != wanted:
        what = "a Table descriptor" if level < 3 else "reserved at level 3 (0b01)"
        raise MemattrError(
            f"descriptor {value:#018x} is {what}, not a leaf at level {level}",
            expected=f"bits[1:0]={wanted:#04b}",
        )
    specs = _specs(stage)
    values = {spec.name: (value >> spec.lsb) & ((1 << spec.width) - 1) for spec in specs}
    oa_mask = _oa_mask(level)
    used = 0b11 | oa_mask
    for spec in specs:
        used |= ((1 << spec.width) - 1) << spec.lsb
    return LeafDescriptor(
        stage=stage, level=level, output_address=value & oa_mask, other_bits=value & ~used, **values
    )


def encode_descriptor(descriptor: LeafDescriptor) -> int:
    """Encode a leaf descriptor; the inverse of :func:`decode_descriptor`."""
    specs = _specs(descriptor.stage)
    if descriptor.level not in LEVEL_BLOCK_SHIFT:
        raise ValueError(f"level {descriptor.level} has no leaf descriptors with the 4KB granule")
    oa_mask = _oa_mask(descriptor.level)
    if descriptor.output_address & ~oa_mask:
        raise ValueError(
            f"output address {descriptor.output_address:#x} is not aligned to a level-{descriptor.level} "
            f"{descriptor.kind} or exceeds 48 bits"
        )
    value = (0b11 if descriptor.level == 3 else 0b01) | descriptor.output_address
    used = 0b11 | oa_mask
    names = {spec.name for spec in specs}
    for spec in specs:
        field_value = getattr(descriptor, spec.name)
        if not 0 <= field_value < 1 << spec.width:
            raise ValueError(f"{spec.name}={field_value} does not fit in {spec.width} bits")
        value |= field_value << spec.lsb
        used |= ((1 << spec.width) - 1) << spec.lsb
    for item in fields(LeafDescriptor):
        if item.name in {"stage", "level", "output_address", "other_bits"} or item.name in names:
            continue
        if getattr(descriptor, item.name):
            raise ValueError(f"field {item.name} does not exist in a stage-{descriptor.stage} descriptor")
    if descriptor.other_bits & used:
        raise ValueError("other_bits overlaps named fields")
    return value | descriptor.other_bits
