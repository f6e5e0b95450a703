"""Memory types and attributes as immutable values.

The shapes mirror the ASL types of the Arm ARM (DDI0487 M.a, J1 "shared/functions/memory"):
``MemoryAttributes`` {memtype, device, inner, outer, shareability, tags, notagaccess, xs},
``MemAttrHints`` {attrs, hints, transient}, ``DeviceType``, ``Shareability`` and ``MemTagType``.
A memory type is a sum type: ``Device(kind)`` *or* ``Normal(inner, outer)``, never a flag set.

Every value prints the architecture's names.  ``short_name`` is the canonical name used in all
of memattr's output: ``Device-nGnRnE``, ``Device-nGnRE``, ``Device-nGRE``, ``Device-GRE`` and
``Normal-i<NC|WT|WB>-o<NC|WT|WB>``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Union


class ArchEnum(enum.Enum):
    """An enumeration whose members hash by identity (they are singletons and compare by identity).

    ``enum.Enum`` hashes a member by its name in Python code; these values key the caches and tables
    of every bulk computation (the 4,096-cell matrix, the conformance vectors), where that call shows.
    """

    __hash__ = object.__hash__


class DeviceKind(ArchEnum):
    """ASL ``DeviceType``: the Gathering, Reordering and Early-write-acknowledgement attributes.

    Arm ARM B2.10.2 "Device memory": nGnRnE is the most restrictive and GRE the least.
    """

    nGnRnE = "nGnRnE"
    nGnRE = "nGnRE"
    nGRE = "nGRE"
    GRE = "GRE"

    @property
    def gathering(self) -> bool:
        return self is DeviceKind.GRE

    @property
    def reordering(self) -> bool:
        return self in (DeviceKind.nGRE, DeviceKind.GRE)

    @property
    def early_write_ack(self) -> bool:
        return self is not DeviceKind.nGnRnE

    @property
    def restrictiveness(self) -> int:
        """Rank in the precedence of Table D8-97: higher wins when stages are combined."""
        return _DEVICE_RANK[self]

    def __str__(self) -> str:
        return self.value


_DEVICE_RANK = {DeviceKind.GRE: 0, DeviceKind.nGRE: 1, DeviceKind.nGnRE: 2, DeviceKind.nGnRnE: 3}


class Cacheability(ArchEnum):
    """ASL ``MemAttr_NC`` / ``MemAttr_WT`` / ``MemAttr_WB``."""

    NC = "NC"
    WT = "WT"
    WB = "WB"

    @property
    def long_name(self) -> str:
        return {"NC": "Non-cacheable", "WT": "Write-Through", "WB": "Write-Back"}[self.value]

    @property
    def restrictiveness(self) -> int:
        """Rank in Table D8-98: Non-cacheable beats Write-Through beats Write-Back."""
        return _CACHE_RANK[self]

    def __str__(self) -> str:
        return self.value


_CACHE_RANK = {Cacheability.WB: 0, Cacheability.WT: 1, Cacheability.NC: 2}


class AllocHint(ArchEnum):
    """ASL ``MemHint_No`` / ``_WA`` / ``_RA`` / ``_RWA``: read- and write-allocate hints."""

    NO = "No"
    WA = "WA"
    RA = "RA"
    RWA = "RWA"

    @property
    def read_allocate(self) -> bool:
        return self in (AllocHint.RA, AllocHint.RWA)

    @property
    def write_allocate(self) -> bool:
        return self in (AllocHint.WA, AllocHint.RWA)

    @classmethod
    def from_rw(cls, read_allocate: bool, write_allocate: bool) -> "AllocHint":
        return {
            (False, False): cls.NO,
            (False, True): cls.WA,
            (True, False): cls.RA,
            (True, True): cls.RWA,
        }[(read_allocate, write_allocate)]

    def __str__(self) -> str:
        return self.value


class Shareability(ArchEnum):
    """ASL ``Shareability``; the descriptor SH[1:0] encoding is in :mod:`memattr.arch.encodings`."""

    NSH = "NSH"
    ISH = "ISH"
    OSH = "OSH"

    @property
    def long_name(self) -> str:
        return {"NSH": "Non-shareable", "ISH": "Inner Shareable", "OSH": "Outer Shareable"}[self.value]

    @property
    def restrictiveness(self) -> int:
        """Rank used by ``S2CombineS1Shareability``: OSH beats ISH beats NSH."""
        return _SHARE_RANK[self]

    def __str__(self) -> str:
        return self.value


_SHARE_RANK = {Shareability.NSH: 0, Shareability.ISH: 1, Shareability.OSH: 2}


class TagType(ArchEnum):
    """ASL ``MemTagType`` (FEAT_MTE2 and FEAT_MTE_CANONICAL_TAGS)."""

    UNTAGGED = "Untagged"
    ALLOCATION_TAGGED = "Tagged"
    CANONICALLY_TAGGED = "CanonicallyTagged"

    def __str__(self) -> str:
        return self.value


# The canonical short names, made once (the bulk computations name every outcome they render).
_DEVICE_NAMES = {kind: f"Device-{kind.value}" for kind in DeviceKind}
_NORMAL_NAMES = {(inner, outer): f"Normal-i{inner.value}-o{outer.value}"
                 for inner in Cacheability for outer in Cacheability}


@dataclass(frozen=True, slots=True)
class CacheAttrs:
    """One level (inner or outer) of a Normal memory type: ASL ``MemAttrHints``.

    For Non-cacheable memory the hints carry no meaning; they are normalised to ``No`` and
    non-transient so that equal memory types compare equal (the ASL leaves them UNKNOWN).
    """

    cacheability: Cacheability
    hints: AllocHint = AllocHint.NO
    transient: bool = False

    def __post_init__(self) -> None:
        if self.cacheability is Cacheability.NC:
            object.__setattr__(self, "hints", AllocHint.NO)
            object.__setattr__(self, "transient", False)

    @property
    def cacheable(self) -> bool:
        return self.cacheability is not Cacheability.NC

    def describe(self) -> str:
        if not self.cacheable:
            return "Non-cacheable"
        ra = "Read-Allocate" if self.hints.read_allocate else "No Read-Allocate"
        wa = "Write-Allocate" if self.hints.write_allocate else "No Write-Allocate"
        transient = "Transient" if self.transient else "Non-transient"
        return f"{self.cacheability.long_name} {transient} {ra} {wa}"

    def hint_suffix(self) -> str:
        """Compact hint text, e.g. ``RWA`` or ``RA,T``; empty for Non-cacheable."""
        if not self.cacheable:
            return ""
        text = self.hints.value if self.hints is not AllocHint.NO else "noalloc"
        return text + (",T" if self.transient else "")

    def __str__(self) -> str:
        return self.cacheability.value


NC = CacheAttrs(Cacheability.NC)
WB_RWA = CacheAttrs(Cacheability.WB, AllocHint.RWA)
WT_RA = CacheAttrs(Cacheability.WT, AllocHint.RA)


@dataclass(frozen=True, slots=True)
class Device:
    """A Device memory type; ``xs`` is the FEAT_XS attribute (1 unless an XS=0 encoding is used)."""

    kind: DeviceKind
    xs: bool = True

    @property
    def short_name(self) -> str:
        return _DEVICE_NAMES[self.kind]

    @property
    def is_device(self) -> bool:
        return True

    @property
    def is_normal(self) -> bool:
        return False

    @property
    def cacheable(self) -> bool:
        return False

    @property
    def tags(self) -> TagType:
        return TagType.UNTAGGED

    def describe(self) -> str:
        return f"Device-{self.kind.value} memory, XS={int(self.xs)}"

    def __str__(self) -> str:
        return self.short_name


@dataclass(frozen=True, slots=True)
class Normal:
    """A Normal memory type: inner and outer Cacheability with hints, XS and the Tagged attribute."""

    inner: CacheAttrs
    outer: CacheAttrs
    xs: bool = True
    tags: TagType = TagType.UNTAGGED

    @property
    def short_name(self) -> str:
        return _NORMAL_NAMES[self.inner.cacheability, self.outer.cacheability]

    @property
    def is_device(self) -> bool:
        return False

    @property
    def is_normal(self) -> bool:
        return True

    @property
    def cacheable(self) -> bool:
        """True when either level is cacheable (the type is not Normal Non-cacheable)."""
        return self.inner.cacheable or self.outer.cacheable

    @property
    def non_cacheable(self) -> bool:
        """Normal Non-cacheable: both levels Non-cacheable."""
        return not self.inner.cacheable and not self.outer.cacheable

    @property
    def write_back(self) -> bool:
        """Inner and outer Write-Back: the only Normal type that MTE tags and that is coherent by hardware."""
        return (
            self.inner.cacheability is Cacheability.WB
            and self.outer.cacheability is Cacheability.WB
        )

    def describe(self) -> str:
        text = (
            f"Normal memory, Inner {self.inner.describe()}, Outer {self.outer.describe()}, "
            f"XS={int(self.xs)}"
        )
        if self.tags is not TagType.UNTAGGED:
            text += f", {self.tags.value}"
        return text

    def __str__(self) -> str:
        return self.short_name


MemoryType = Union[Device, Normal]


def full_name(memtype: MemoryType) -> str:
    """The canonical short name plus every attribute that the short name leaves out.

    E.g. ``Normal-iWB-oWB (iRWA oRWA, XS=0, Tagged)`` or ``Device-nGnRE (XS=1)``.
    """
    if isinstance(memtype, Device):
        return f"{memtype.short_name} (XS={int(memtype.xs)})"
    parts = []
    hints = []
    if memtype.inner.cacheable:
        hints.append("i" + memtype.inner.hint_suffix())
    if memtype.outer.cacheable:
        hints.append("o" + memtype.outer.hint_suffix())
    if hints:
        parts.append(" ".join(hints))
    parts.append(f"XS={int(memtype.xs)}")
    if memtype.tags is not TagType.UNTAGGED:
        parts.append(memtype.tags.value)
    return f"{memtype.short_name} ({', '.join(parts)})"


@dataclass(frozen=True, slots=True)
class MemoryAttributes:
    """ASL ``MemoryAttributes``: a memory type with its Shareability (and FEAT_MTE_PERM NoTagAccess)."""

    memtype: MemoryType
    shareability: Shareability
    notagaccess: bool = False

    @property
    def short_name(self) -> str:
        return self.memtype.short_name

    def __str__(self) -> str:
        return f"{self.memtype.short_name} {self.shareability.value}"


@dataclass(frozen=True, slots=True)
class Unpredictable:
    """A reserved encoding: its behaviour is CONSTRAINED UNPREDICTABLE.

    ``choices`` names the behaviours the architecture permits (Arm ARM K1.2.19 and the specific
    ``Unpredictable_*`` case of the ASL); ``candidates`` lists the allocated decodings that the
    "maps onto an allocated value" choice can produce, so callers can compute every possible outcome.
    """

    what: str
    rule: str
    choices: tuple[str, ...]
    candidates: tuple[object, ...] = field(default=(), compare=False, hash=False, repr=False)

    @property
    def short_name(self) -> str:
        return "UNPREDICTABLE"

    def __str__(self) -> str:
        return f"UNPREDICTABLE ({self.what})"


def is_unpredictable(value: object) -> bool:
    return isinstance(value, Unpredictable)


# Canonical short names of every memory type class, in a fixed order used for tables and CLI choices.
DEVICE_NAMES = tuple(f"Device-{kind.value}" for kind in DeviceKind)
NORMAL_NAMES = tuple(
    f"Normal-i{inner.value}-o{outer.value}" for inner in Cacheability for outer in Cacheability
)
CANONICAL_NAMES = DEVICE_NAMES + NORMAL_NAMES


def parse_memory_type(name: str) -> MemoryType:
    """Parse a canonical short name (``Device-nGnRE``, ``Normal-iNC-oNC``) into a memory type.

    Normal types get the hints that the corresponding MAIR encoding 0bXXXX_YYYY with RW=11
    (Read-Allocate, Write-Allocate, Non-transient) gives; XS follows the ASL rule that Write-Back
    inner and outer has XS=0 and everything else XS=1 (``S1DecodeMemAttrs``).  Raises ValueError on
    an unknown name; the message lists the valid names.
    """
    aliases = {
        "normal-nc": "Normal-iNC-oNC",
        "normal-wt": "Normal-iWT-oWT",
        "normal-wb": "Normal-iWB-oWB",
        "device": "Device-nGnRnE",
    }
    key = name.strip()
    key = aliases.get(key.lower(), key)
    for kind in DeviceKind:
        if key.lower() == f"device-{kind.value}".lower():
            return Device(kind)
    for inner in Cacheability:
        for outer in Cacheability:
            if key.lower() == f"normal-i{inner.value}-o{outer.value}".lower():
                return Normal(
                    _default_level(inner),
                    _default_level(outer),
                    xs=not (inner is Cacheability.WB and outer is Cacheability.WB),
                )
    raise ValueError(
        f"unknown memory type {name!r}; expected one of: {', '.join(CANONICAL_NAMES)}"
    )


def _default_level(cacheability: Cacheability) -> CacheAttrs:
    if cacheability is Cacheability.NC:
        return NC
    return CacheAttrs(cacheability, AllocHint.RWA, False)
