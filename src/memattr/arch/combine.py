"""Effective memory attributes of an access: stage 1, stage 2 and their combination.

Each function mirrors one ASL function of DDI0487 M.a (J1 shared/translation) and returns the
steps it took, so ``memattr combine --explain`` prints the chain the code followed:

- ``S1DecodeMemAttrs`` / ``AArch64.S1DisabledOutput`` and the SCTLR_ELx.{C,I} overrides of
  ``AArch64.S1Translate``: the stage-1 output attributes;
- ``S2DecodeMemAttrs`` and the HCR_EL2.{CD,ID} overrides of ``AArch64.S2Translate``;
- ``S2CombineS1MemAttrs`` (HCR_EL2.FWB=0), with ``S2CombineS1Device``, ``S2CombineS1AttrHints``,
  ``S2CombineS1Shareability``, ``S2MemTagType`` and ``EffectiveShareability``;
- ``AArch64.S2ApplyFWBMemAttrs`` (HCR_EL2.FWB=1).
"""

from __future__ import annotations

import enum
from functools import lru_cache, partial
from dataclasses import dataclass, field, replace
from typing import Any, Callable, NamedTuple

from memattr.arch.features import NO_FEATURES, FeatureSet, check_features
from memattr.arch.mair import decode_mair_attr
from memattr.arch.memtypes import (
    NC,
    ArchEnum,
    AllocHint,
    CacheAttrs,
    Cacheability,
    Device,
    DeviceKind,
    MemoryAttributes,
    MemoryType,
    Normal,
    Shareability,
    TagType,
    Unpredictable,
    full_name,
)
from memattr.arch.stage2 import (
    S2Attr,
    S2Device,
    S2FwbNonCacheable,
    S2FwbStage1,
    S2FwbWriteBack,
    S2Normal,
    decode_s2_memattr,
)


class Access(ArchEnum):
    """The access type, as far as it changes attributes (ASL ``AccessType_IFETCH`` vs data)."""

    DATA = "data"
    IFETCH = "ifetch"


@dataclass(frozen=True, slots=True)
class Controls:
    """The control bits that change the result; defaults are a running EL1&0 guest under KVM.

    ``s1_effective_shareability`` is the IMPLEMENTATION DEFINED choice of RNSCNC (D8.6.2): whether a
    stage-1 Device or Normal Non-cacheable mapping passes its own Shareability (False) or Outer
    Shareable (True) into stage 2 (ASL IMPLEMENTATION_DEFINED "Apply effective shareability at stage 1").
    """

    fwb: bool = False  # HCR_EL2.FWB (requires FEAT_S2FWB)
    hcr_dc: bool = False  # HCR_EL2.DC: stage 1 treated as disabled, default Normal Write-Back
    hcr_cd: bool = False  # HCR_EL2.CD: stage-2 Normal data accesses Non-cacheable
    hcr_id: bool = False  # HCR_EL2.ID: stage-2 instruction accesses Non-cacheable
    sctlr_c: bool = True  # SCTLR_EL1.C
    sctlr_i: bool = True  # SCTLR_EL1.I
    dct: bool = False  # HCR_EL2.DCT (FEAT_MTE2): HCR_EL2.DC default memory is Tagged
    s1_effective_shareability: bool = False
    access: Access = Access.DATA


class Step(NamedTuple):
    """One decision: which ASL function or rule made it, where that is written, what it decided.

    ``detail`` and ``outcome`` may be given as callables so that bulk computations (the full
    256 x 16 x 2 matrix) do not pay for text nobody reads; ``text`` and ``result`` render them.
    A named tuple: thousands are made per matrix, and a tuple is made several times faster than a
    frozen dataclass.
    """

    rule: str
    source: str
    detail: str | Callable[[], str]
    outcome: str | Callable[[], str] = ""

    @property
    def text(self) -> str:
        return self.detail() if callable(self.detail) else self.detail

    @property
    def result(self) -> str:
        return self.outcome() if callable(self.outcome) else self.outcome

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "source": self.source, "text": self.text, "result": self.result}

    def __str__(self) -> str:
        tail = f" -> {self.result}" if self.result else ""
        return f"[{self.rule}] {self.text}{tail}"


class HasResult:
    """The names of an outcome that is either decided (MemoryAttributes) or UNPREDICTABLE; for classes
    with a ``result`` field (the combination, the matrix's cells)."""

    __slots__ = ()
    result: MemoryAttributes | Unpredictable

    @property
    def memory_type(self) -> str:
        return self.result.short_name

    @property
    def unpredictable(self) -> bool:
        return isinstance(self.result, Unpredictable)


@dataclass(frozen=True, slots=True)
class Combination(HasResult):
    """The effective attributes of an access and the chain of decisions that produced them.

    For reserved inputs ``result`` is :class:`Unpredictable` and ``possible`` holds every outcome
    the constrained-unpredictable choices permit (each allocated value the reserved one may map onto).
    """

    result: MemoryAttributes | Unpredictable
    explanation: tuple[Step, ...]
    outcomes: Callable[[], tuple[MemoryAttributes, ...]] | None = field(default=None, compare=False, repr=False)
    stage1: MemoryAttributes | Unpredictable | None = None

    @property
    def possible(self) -> tuple[MemoryAttributes, ...]:
        """Every outcome the constrained-unpredictable choices permit (the result itself when determined)."""
        if self.outcomes is not None:
            return self.outcomes()
        assert isinstance(self.result, MemoryAttributes)
        return (self.result,)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"memory_type": self.memory_type}
        if isinstance(self.result, MemoryAttributes):
            data.update(attributes_json(self.result))
        else:
            data["shareability"] = None
            data["unpredictable"] = {
                "what": self.result.what,
                "rule": self.result.rule,
                "choices": list(self.result.choices),
                "possible_memory_types": sorted({p.short_name for p in self.possible}),
                "possible": [attributes_json(p) for p in self.possible],
            }
        data["explanation"] = [step.to_json() for step in self.explanation]
        return data


def attributes_json(attrs: MemoryAttributes) -> dict[str, Any]:
    memtype = attrs.memtype
    data: dict[str, Any] = {
        "memory_type": memtype.short_name,
        "full_name": full_name(memtype),
        "description": memtype.describe(),
        "shareability": attrs.shareability.value,
        "xs": int(memtype.xs),
    }
    if isinstance(memtype, Normal):
        data["inner"] = _level_json(memtype.inner)
        data["outer"] = _level_json(memtype.outer)
        data["tagged"] = memtype.tags is TagType.ALLOCATION_TAGGED
    else:
        data["device"] = memtype.kind.value
    if attrs.notagaccess:
        data["notagaccess"] = True
    return data


def _level_json(level: CacheAttrs) -> dict[str, Any]:
    return {
        "cacheability": level.cacheability.value,
        "read_allocate": level.hints.read_allocate,
        "write_allocate": level.hints.write_allocate,
        "transient": level.transient,
    }


# --- the ASL helper functions -------------------------------------------------------------------

ASL = "DDI0487 M.a J1 ASL"


def s2_combine_s1_device(s1: DeviceKind, s2: DeviceKind) -> DeviceKind:
    """ASL ``S2CombineS1Device``: the more restrictive Device type wins (Table D8-97)."""
    return s1 if s1.restrictiveness >= s2.restrictiveness else s2


def s2_combine_s1_attr_hints(s1: CacheAttrs, s2: CacheAttrs) -> CacheAttrs:
    """ASL ``S2CombineS1AttrHints``: the less cacheable wins (Table D8-98); hints come from stage 1."""
    if s1.cacheability.restrictiveness >= s2.cacheability.restrictiveness:
        return s1  # stage 1's cacheability with its own hints
    if s2.cacheability is Cacheability.NC:
        return NC
    return CacheAttrs(s2.cacheability, s1.hints, s1.transient)


def s2_combine_s1_shareability(s1: Shareability, s2: Shareability) -> Shareability:
    """ASL ``S2CombineS1Shareability``: the larger shareability domain wins (D8.6.7.1)."""
    return s1 if s1.restrictiveness >= s2.restrictiveness else s2


def effective_shareability(memtype: MemoryType, shareability: Shareability) -> Shareability:
    """ASL ``EffectiveShareability``: Device and Normal Non-cacheable are Outer Shareable (RPYFVQ)."""
    if isinstance(memtype, Device) or memtype.non_cacheable:
        return Shareability.OSH
    return shareability


def s2_mem_tag_type(combined: MemoryType, s1_tags: TagType, features: FeatureSet) -> TagType:
    """ASL ``S2MemTagType``: Allocation tags survive only over Write-Back RWA Non-transient."""
    if "MTE2" not in features:
        return TagType.UNTAGGED
    if (
        s1_tags is TagType.ALLOCATION_TAGGED
        and isinstance(combined, Normal)
        and all(
            level.cacheability is Cacheability.WB and level.hints is AllocHint.RWA and not level.transient
            for level in (combined.inner, combined.outer)
        )
    ):
        return TagType.ALLOCATION_TAGGED
    if s1_tags is not TagType.ALLOCATION_TAGGED:
        return s1_tags
    return TagType.UNTAGGED


def with_tags(memtype: MemoryType, tags: TagType) -> MemoryType:
    if not isinstance(memtype, Normal) or memtype.tags is tags:
        return memtype
    return Normal(memtype.inner, memtype.outer, memtype.xs, tags)


def with_xs(memtype: MemoryType, xs: bool) -> MemoryType:
    if memtype.xs is xs:
        return memtype
    if isinstance(memtype, Device):
        return Device(memtype.kind, xs)
    return Normal(memtype.inner, memtype.outer, xs, memtype.tags)


NORMAL_NC = Normal(NC, NC, xs=True)


# --- stage 1 -------------------------------------------------------------------------------------

def stage1_output(
    attr: int | None,
    shareability: Shareability,
    controls: Controls,
    features: FeatureSet,
) -> tuple[MemoryAttributes | Unpredictable, list[Step]]:
    """The stage-1 output attributes of an EL1&0 access (ASL ``AArch64.S1Translate``)."""
    steps: list[Step] = []
    if attr is None or controls.hcr_dc:
        return _stage1_disabled(controls, features, steps)
    decoded = decode_mair_attr(attr, features)
    if isinstance(decoded, Unpredictable):
        steps.append(Step("S1DecodeMemAttrs", f"{ASL} S1ConstrainUnpredictableRESMAIR; D24.2.127",
                          decoded.what, "UNPREDICTABLE"))
        return decoded, steps
    if isinstance(decoded, Normal) and decoded.tags is TagType.ALLOCATION_TAGGED and "MTE2" not in features:
        decoded = with_tags(decoded, TagType.UNTAGGED)
    steps.append(Step(
        "S1DecodeMemAttrs", f"{ASL} S1DecodeMemAttrs; D24.2.127 MAIR_EL1.Attr<n>",
        lambda: f"stage 1 MAIR attribute {attr:#04x} decodes to {decoded.describe()}",
        lambda: full_name(decoded),
    ))
    memtype = _apply_s1_overrides(decoded, controls, steps)
    return MemoryAttributes(memtype, shareability), steps


def _apply_s1_overrides(decoded: MemoryType, controls: Controls, steps: list[Step]) -> MemoryType:
    """The SCTLR_EL1.{C,I} and instruction-fetch overrides of ``AArch64.S1Translate``."""
    if controls.access is Access.IFETCH and (isinstance(decoded, Device) or not controls.sctlr_i):
        why = "stage 1 is Device memory" if isinstance(decoded, Device) else "SCTLR_EL1.I is 0"
        memtype = with_xs(NORMAL_NC, decoded.xs)
        steps.append(Step(
            "AArch64.S1Translate", f"{ASL} AArch64.S1Translate (instruction fetch override)",
            f"instruction fetch and {why}: treated as Normal Non-cacheable", memtype.short_name,
        ))
        return memtype
    if controls.access is Access.DATA and isinstance(decoded, Normal) and not controls.sctlr_c:
        memtype = with_xs(NORMAL_NC, decoded.xs)
        steps.append(Step(
            "AArch64.S1Translate", f"{ASL} AArch64.S1Translate; AArch64.S1DCacheEnabled",
            "SCTLR_EL1.C is 0: stage-1 Normal data accesses are Non-cacheable", memtype.short_name,
        ))
        return memtype
    return decoded


@lru_cache(maxsize=4096)
def stage1_cached(
    attr: int | None, shareability: Shareability, controls: Controls, features: FeatureSet
) -> tuple[MemoryAttributes | Unpredictable, tuple[Step, ...]]:
    s1, steps = stage1_output(attr, shareability, controls, features)
    return s1, tuple(steps)


def _stage1_disabled(
    controls: Controls, features: FeatureSet, steps: list[Step]
) -> tuple[MemoryAttributes, list[Step]]:
    source = f"{ASL} AArch64.S1DisabledOutput"
    if controls.hcr_dc:
        tags = TagType.ALLOCATION_TAGGED if controls.dct and "MTE2" in features else TagType.UNTAGGED
        wb = CacheAttrs(Cacheability.WB, AllocHint.RWA, False)
        memtype: MemoryType = Normal(wb, wb, xs=False, tags=tags)
        steps.append(Step("AArch64.S1DisabledOutput", source,
                          "HCR_EL2.DC is 1: stage 1 behaves as disabled with the default Normal "
                          "Write-Back Read/Write-Allocate Non-shareable memory type",
                          full_name(memtype)))
        return MemoryAttributes(memtype, Shareability.NSH), steps
    if controls.access is Access.IFETCH:
        level = CacheAttrs(Cacheability.WT, AllocHint.RA) if controls.sctlr_i else NC
        memtype = Normal(level, level, xs=True)
        why = "Write-Through Read-Allocate (SCTLR_EL1.I is 1)" if controls.sctlr_i else "Non-cacheable (SCTLR_EL1.I is 0)"
        steps.append(Step("AArch64.S1DisabledOutput", source,
                          f"stage 1 disabled, instruction fetch: Normal {why}, Outer Shareable",
                          memtype.short_name))
        return MemoryAttributes(memtype, Shareability.OSH), steps
    memtype = Device(DeviceKind.nGnRnE, xs=True)
    steps.append(Step("AArch64.S1DisabledOutput", source,
                      "stage 1 disabled, data access: Device-nGnRnE, Outer Shareable", memtype.short_name))
    return MemoryAttributes(memtype, Shareability.OSH), steps


# --- stage 2 -------------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def s2_decode_mem_attrs(attr: S2Device | S2Normal, shareability: Shareability, fnxs: bool) -> MemoryAttributes:
    """ASL ``S2DecodeMemAttrs`` for FWB=0, with XS = NOT FnXS (``AArch64.S2Walk``)."""
    return _s2_decode_mem_attrs(attr, shareability, fnxs)


def _s2_decode_mem_attrs(attr: S2Device | S2Normal, shareability: Shareability, fnxs: bool) -> MemoryAttributes:
    if isinstance(attr, S2Device):
        memtype: MemoryType = Device(attr.kind, xs=not fnxs)
    else:
        # Stage 2 assigns no allocation hints (RKTSYP); the combination takes stage 1's.
        memtype = Normal(CacheAttrs(attr.inner), CacheAttrs(attr.outer), xs=not fnxs)
    return MemoryAttributes(memtype, shareability, notagaccess=getattr(attr, "notagaccess", False))


_S2_COMBINE = ("S2CombineS1MemAttrs", f"{ASL} S2CombineS1MemAttrs; D8.6.5.1 Table D8-97")
_S2_COMBINE_DEVICE = ("S2CombineS1Device", f"{ASL} S2CombineS1Device; Table D8-97")
_S2_COMBINE_HINTS = ("S2CombineS1AttrHints", f"{ASL} S2CombineS1AttrHints; D8.6.5.2 Table D8-98 (RTNHFM)")


def _s2_combine_text(a: MemoryType, b: MemoryType, combined: MemoryType) -> str:
    """The explanation of one S2CombineS1MemAttrs decision (made only when an explanation is read)."""
    if isinstance(a, Device) and isinstance(b, Device):
        return (f"both stages Device ({a.short_name}, {b.short_name}): the more restrictive "
                f"Gathering, Reordering and Early-acknowledgement attributes win")
    if isinstance(a, Device):
        return f"stage 1 Device, stage 2 Normal: Device has precedence over Normal, stage 1's {a.short_name} stands"
    if isinstance(b, Device):
        return f"stage 2 Device, stage 1 Normal: Device has precedence over Normal, stage 2's {b.short_name} stands"
    assert isinstance(a, Normal) and isinstance(b, Normal) and isinstance(combined, Normal)
    return (f"both Normal: Inner {a.inner} with {b.inner} gives {combined.inner}, Outer {a.outer} with "
            f"{b.outer} gives {combined.outer} (the less cacheable wins; hints from stage 1)")


def s2_combine_s1_mem_attrs(
    s1: MemoryAttributes, s2: MemoryAttributes, features: FeatureSet, explain: bool = True
) -> tuple[MemoryAttributes, list[Step]]:
    """ASL ``S2CombineS1MemAttrs`` (HCR_EL2.FWB=0), D8.6.5.1 Table D8-97 and D8.6.5.2 Table D8-98.

    ``explain`` False skips the explanation (the bulk computations of the matrix and the vectors)."""
    a, b = s1.memtype, s2.memtype
    if isinstance(a, Device) and isinstance(b, Device):
        memtype: MemoryType = Device(s2_combine_s1_device(a.kind, b.kind), xs=a.xs)
        rule = _S2_COMBINE_DEVICE
    elif isinstance(a, Device):
        memtype, rule = a, _S2_COMBINE  # Device has precedence over Normal
    elif isinstance(b, Device):
        memtype, rule = b, _S2_COMBINE
    else:
        inner = s2_combine_s1_attr_hints(a.inner, b.inner)
        outer = s2_combine_s1_attr_hints(a.outer, b.outer)
        memtype, rule = Normal(inner, outer, xs=a.xs, tags=a.tags), _S2_COMBINE_HINTS
    steps = [Step(*rule, partial(_s2_combine_text, a, b, memtype), memtype.short_name)] if explain else []
    tags = s2_mem_tag_type(memtype, s1.memtype.tags, features)
    memtype = with_tags(memtype, tags)
    if isinstance(memtype, Normal) and memtype.write_back:
        xs = False
    else:
        xs = s1.memtype.xs and s2.memtype.xs
    memtype = with_xs(memtype, xs)
    notagaccess = "MTE_PERM" in features and s2.notagaccess and s1.memtype.tags is TagType.ALLOCATION_TAGGED
    share = s2_combine_s1_shareability(s1.shareability, s2.shareability)
    return MemoryAttributes(memtype, share, notagaccess), steps


_S2_APPLY_FWB = ("AArch64.S2ApplyFWBMemAttrs", f"{ASL} AArch64.S2ApplyFWBMemAttrs; D8.6.6 Table D8-101 (RRHWZM)")


def _s2_apply_fwb_text(a: MemoryType, attr: Any) -> str:
    """The explanation of one AArch64.S2ApplyFWBMemAttrs decision (made only when an explanation is read)."""
    if isinstance(attr, S2Device):
        if isinstance(a, Device):
            return (f"FWB MemAttr[2]=0 selects {attr.describe()}; stage 1 is {a.short_name}: the more "
                    f"restrictive Device type wins (RGSDKZ, S2CombineS1Device)")
        return f"FWB MemAttr[2]=0 selects {attr.describe()}, overriding stage 1's {a.short_name} (Table D8-100)"
    if isinstance(attr, S2FwbStage1):
        return f"FWB MemAttr[2:0]=0b111: stage 2 uses the stage 1 attributes ({a.short_name})"
    if isinstance(attr, S2FwbWriteBack):
        line = f"FWB MemAttr[2:0]=0b110: Normal Write-Back whatever stage 1 says (stage 1 {a.short_name})"
        if isinstance(a, Device):
            line += ("; RRMTWN: atomics and exclusives may behave as for Device (IMPLEMENTATION DEFINED) and "
                     "misaligned accesses and DC ZVA may take a stage-1 Alignment fault (CONSTRAINED "
                     "UNPREDICTABLE)")
        return line
    if isinstance(a, Device):
        return f"FWB MemAttr[2:0]=0b101: stage 1 is Device, so stage 1's {a.short_name} stands"
    return f"FWB MemAttr[2:0]=0b101: Normal Non-cacheable (stage 1 {a.short_name})"


def s2_apply_fwb_mem_attrs(
    s1: MemoryAttributes,
    attr: S2Device | S2FwbNonCacheable | S2FwbWriteBack | S2FwbStage1,
    s2_shareability: Shareability,
    fnxs: bool,
    features: FeatureSet,
    explain: bool = True,
) -> tuple[MemoryAttributes, list[Step]]:
    """ASL ``AArch64.S2ApplyFWBMemAttrs`` (HCR_EL2.FWB=1), D8.6.6 Tables D8-100 and D8-101."""
    a = s1.memtype
    if isinstance(attr, S2Device):
        kind = s2_combine_s1_device(a.kind, attr.kind) if isinstance(a, Device) else attr.kind
        memtype: MemoryType = Device(kind, xs=a.xs)
    elif isinstance(attr, S2FwbStage1):
        memtype = a
    elif isinstance(attr, S2FwbWriteBack):
        levels = []
        for level in ((a.inner, a.outer) if isinstance(a, Normal) else (NC, NC)):
            if level.cacheable:
                levels.append(CacheAttrs(Cacheability.WB, level.hints, level.transient))
            else:
                # RTBQKG: a non-cacheable stage 1 becomes Read-Allocate, Write-Allocate, Non-transient.
                levels.append(CacheAttrs(Cacheability.WB, AllocHint.RWA, False))
        memtype = Normal(levels[0], levels[1], xs=False, tags=a.tags if isinstance(a, Normal) else TagType.UNTAGGED)
    else:
        memtype = a if isinstance(a, Device) else with_xs(NORMAL_NC, a.xs)
    steps = [Step(*_S2_APPLY_FWB, partial(_s2_apply_fwb_text, a, attr), memtype.short_name)] if explain else []
    tags = s2_mem_tag_type(memtype, a.tags, features)
    memtype = with_tags(memtype, tags)
    share = s2_combine_s1_shareability(s1.shareability, s2_shareability)
    notagaccess = (
        "MTE_PERM" in features
        and getattr(attr, "notagaccess", False)
        and tags is TagType.ALLOCATION_TAGGED
    )
    if fnxs:
        memtype = with_xs(memtype, False)
    return MemoryAttributes(memtype, share, notagaccess), steps


def stage2_overrides(
    combined: MemoryAttributes, controls: Controls
) -> tuple[MemoryAttributes, list[Step]]:
    """The HCR_EL2.{ID,CD} and instruction-fetch overrides of ``AArch64.S2Translate``."""
    memtype = combined.memtype
    source = f"{ASL} AArch64.S2Translate"
    if controls.access is Access.IFETCH and (isinstance(memtype, Device) or controls.hcr_id):
        why = "stage 2 gives Device memory" if isinstance(memtype, Device) else "HCR_EL2.ID is 1"
        result = MemoryAttributes(with_xs(NORMAL_NC, memtype.xs), Shareability.OSH, combined.notagaccess)
        return result, [Step("AArch64.S2Translate", source,
                             f"instruction fetch and {why}: treated as Normal Non-cacheable", "Normal-iNC-oNC")]
    if controls.access is Access.DATA and isinstance(memtype, Normal) and controls.hcr_cd:
        result = MemoryAttributes(with_xs(NORMAL_NC, memtype.xs), Shareability.OSH, combined.notagaccess)
        return result, [Step("AArch64.S2Translate", source,
                             "HCR_EL2.CD is 1: stage-2 Normal data accesses are Non-cacheable", "Normal-iNC-oNC")]
    return combined, []


# --- the whole translation -----------------------------------------------------------------------

def combine(
    s1_attr: int | None,
    s2_memattr: int | None,
    *,
    s1_shareability: Shareability = Shareability.ISH,
    s2_shareability: Shareability = Shareability.ISH,
    s2_fnxs: bool = False,
    controls: Controls = Controls(),
    features: FeatureSet = NO_FEATURES,
) -> Combination:
    """Effective attributes of an EL1&0 access with a stage-1 MAIR byte and a stage-2 MemAttr.

    ``s1_attr`` None means stage 1 disabled (SCTLR_EL1.M=0); ``s2_memattr`` None means stage 2
    disabled (HCR_EL2.VM=0; then HCR_EL2.DC and FWB have no effect here).  Reserved encodings give an
    UNPREDICTABLE result whose ``possible`` outcomes cover every permitted mapping onto an allocated value.
    """
    features = check_features(features)
    if s2_memattr is None and controls.hcr_dc:
        controls = replace(controls, hcr_dc=False)
    s1, s1_steps = stage1_cached(s1_attr, s1_shareability, controls, features)
    s2 = decode_s2_memattr(s2_memattr, fwb=controls.fwb, features=features) if s2_memattr is not None else None
    return combine_decoded(s1, s1_steps, s2, s2_decode_step(s2) if s2 is not None else None,
                           s1_shareability=s1_shareability, s2_shareability=s2_shareability, s2_fnxs=s2_fnxs,
                           controls=controls, features=features)


def combine_decoded(
    s1: MemoryAttributes | Unpredictable,
    s1_steps: tuple[Step, ...],
    s2: Any,
    s2_step: Step | None,
    *,
    s1_shareability: Shareability,
    s2_shareability: Shareability,
    s2_fnxs: bool,
    controls: Controls,
    features: FeatureSet,
) -> Combination:
    """:func:`combine` after decoding: bulk callers (the full matrix) decode each input once."""
    steps = list(s1_steps)
    if s2_step is not None:
        steps.append(s2_step)
    s2_attr = s2.attr if s2 is not None else None
    if isinstance(s1, Unpredictable) or isinstance(s2_attr, Unpredictable):
        # The outcome set depends only on the candidates: every reserved MAIR byte has the same
        # candidates under the same features, and a reserved MemAttr is keyed by its encoding.
        s1_key = ("reserved", features) if isinstance(s1, Unpredictable) else s1
        s2_key = ("reserved", s2.encoding, s2.fwb) if isinstance(s2_attr, Unpredictable) else s2_attr  # type: ignore[union-attr]
        args = (
            s1_key, s2_key, s1 if isinstance(s1, Unpredictable) else None,
            s2_attr if isinstance(s2_attr, Unpredictable) else None,
            s1_shareability, s2_shareability, s2_fnxs, controls, features,
        )
        reserved = s1 if isinstance(s1, Unpredictable) else s2_attr

        def outcomes() -> tuple[MemoryAttributes, ...]:
            return _possible_outcomes(*args)[0]

        def text() -> str:
            possible, count = _possible_outcomes(*args)
            names = sorted({p.short_name for p in possible})
            return (f"the reserved encoding may map onto {count} allocated choices, giving "
                    f"{len(names)} possible memory types: {', '.join(names)}")

        steps.append(Step("ConstrainUnpredictable", reserved.rule, text, "UNPREDICTABLE"))  # type: ignore[union-attr]
        return Combination(reserved, tuple(steps), outcomes, stage1=s1)  # type: ignore[arg-type]
    result, more = _translate(s1, s2.attr if s2 else None, s2_shareability, s2_fnxs, controls, features)
    return Combination(result, tuple(steps + more), stage1=s1)


_OUTCOME_CACHE: dict[tuple[Any, ...], tuple[tuple[MemoryAttributes, ...], int]] = {}


def _possible_outcomes(
    s1_key: Any, s2_key: Any, s1_reserved: Unpredictable | None, s2_reserved: Unpredictable | None,
    s1_shareability: Shareability, s2_shareability: Shareability, s2_fnxs: bool,
    controls: Controls, features: FeatureSet,
) -> tuple[tuple[MemoryAttributes, ...], int]:
    key = (s1_key, s2_key, s1_shareability, s2_shareability, s2_fnxs, controls, features)
    cached = _OUTCOME_CACHE.get(key)
    if cached is not None:
        return cached
    s1_choices: tuple[Any, ...] = s1_reserved.candidates if s1_reserved else (s1_key,)
    s2_choices: tuple[Any, ...] = s2_reserved.candidates if s2_reserved else (s2_key,)
    s1_distinct = reserved_stage1_choices(s1_reserved, s1_shareability, controls) if s1_reserved else (s1_key,)
    outcomes: dict[MemoryAttributes, None] = {}
    runs = [translator(s2_choice, s2_shareability, s2_fnxs, controls, features) for s2_choice in s2_choices]
    for s1_attrs in s1_distinct:
        for run in runs:
            outcomes.setdefault(run(s1_attrs), None)
    value = (tuple(outcomes), len(s1_choices) * len(s2_choices))
    _OUTCOME_CACHE[key] = value
    return value


def reserved_stage1_choices(reserved: Unpredictable, shareability: Shareability,
                            controls: Controls) -> tuple[MemoryAttributes, ...]:
    """The distinct stage-1 outputs a reserved MAIR byte may stand for, each entering stage 2 with the
    descriptor's shareability after the SCTLR_EL1 overrides (``S1ConstrainUnpredictableRESMAIR`` lists
    the allocated encodings; many decode alike once the overrides apply)."""
    return tuple(dict.fromkeys(
        choice if isinstance(choice, MemoryAttributes)
        else MemoryAttributes(_apply_s1_overrides(choice, controls, []), shareability)
        for choice in reserved.candidates))


@lru_cache(maxsize=256)
def s2_decode_step(s2: Any) -> Step:
    if s2.fwb:
        source = "DDI0487 M.a D8.6.6 Tables D8-100, D8-101"
    else:
        source = "DDI0487 M.a D8.6.5 Table D8-96; ASL S2DecodeMemAttrs"

    def text() -> str:
        line = f"stage 2 MemAttr {s2.encoding:#06b} with HCR_EL2.FWB={int(s2.fwb)}: {s2.describe()}"
        return line + (" (" + "; ".join(s2.notes) + ")" if s2.notes else "")

    return Step("S2DecodeMemAttrs" if not s2.fwb else "AArch64.S2ApplyFWBMemAttrs", source, text)


def translate(
    s1: MemoryAttributes,
    s2: S2Attr | None,
    s2_shareability: Shareability,
    s2_fnxs: bool,
    controls: Controls,
    features: FeatureSet,
) -> MemoryAttributes:
    """The effective attributes of allocated (decoded, non-reserved) stage-1 and stage-2 inputs.

    The last part of ``AArch64.S2Translate``: ``S2CombineS1MemAttrs`` or ``AArch64.S2ApplyFWBMemAttrs``,
    the HCR_EL2 overrides, then ``EffectiveShareability``; for callers that enumerate the outcomes of
    reserved encodings themselves (the conformance vectors).
    """
    return translator(s2, s2_shareability, s2_fnxs, controls, features)(s1)


def translator(
    s2: S2Attr | None,
    s2_shareability: Shareability,
    s2_fnxs: bool,
    controls: Controls,
    features: FeatureSet,
) -> Callable[[MemoryAttributes], MemoryAttributes]:
    """:func:`translate` with its stage-2 input fixed, without explanations: for bulk callers that meet
    one stage-2 value with many stage-1 outputs (the matrix), so that stage 2 is decoded, and the
    HCR_EL2 overrides applied to it, once.  :func:`_translate` is the same computation with its steps
    (``tests/arch`` checks every cell of the matrix against :func:`combine`)."""
    effective = controls.s1_effective_shareability

    def into_stage2(s1: MemoryAttributes) -> MemoryAttributes:
        # RNSCNC: the IMPLEMENTATION DEFINED shareability a stage-1 Device or Normal-NC output passes on.
        return replace(s1, shareability=effective_shareability(s1.memtype, s1.shareability)) if effective else s1

    combined: Callable[[MemoryAttributes], MemoryAttributes]
    if s2 is None:
        def combined(s1: MemoryAttributes) -> MemoryAttributes:
            return s1  # stage 2 disabled: stage 1's attributes are final
    elif isinstance(s2, (S2Device, S2Normal)) and not controls.fwb:
        s2_attrs, _ = stage2_overrides(s2_decode_mem_attrs(s2, s2_shareability, s2_fnxs), controls)

        def combined(s1: MemoryAttributes) -> MemoryAttributes:
            return s2_combine_s1_mem_attrs(into_stage2(s1), s2_attrs, features, explain=False)[0]
    else:
        fwb_attr: Any = s2

        def combined(s1: MemoryAttributes) -> MemoryAttributes:
            applied, _ = s2_apply_fwb_mem_attrs(into_stage2(s1), fwb_attr, s2_shareability, s2_fnxs, features,
                                                explain=False)
            return stage2_overrides(applied, controls)[0]

    def run(s1: MemoryAttributes) -> MemoryAttributes:
        result = combined(s1)
        share = effective_shareability(result.memtype, result.shareability)
        return result if share is result.shareability else MemoryAttributes(result.memtype, share, result.notagaccess)

    return run


def _translate(
    s1: MemoryAttributes,
    s2: S2Attr | None,
    s2_shareability: Shareability,
    s2_fnxs: bool,
    controls: Controls,
    features: FeatureSet,
) -> tuple[MemoryAttributes, list[Step]]:
    steps: list[Step] = []
    s1_into_s2 = s1
    if controls.s1_effective_shareability:
        s1_into_s2 = replace(s1, shareability=effective_shareability(s1.memtype, s1.shareability))
    if s2 is None:
        share = effective_shareability(s1.memtype, s1.shareability)
        steps.append(Step("EffectiveShareability", f"{ASL} EffectiveShareability; D8.6.2 RPYFVQ",
                          f"stage 2 disabled: the stage-1 attributes are final, {share.long_name}",
                          s1.memtype.short_name))
        return MemoryAttributes(s1.memtype, share, s1.notagaccess), steps
    if isinstance(s2, (S2Device, S2Normal)) and not controls.fwb:
        s2_attrs = s2_decode_mem_attrs(s2, s2_shareability, s2_fnxs)
        s2_attrs, more = stage2_overrides(s2_attrs, controls)
        steps += more
        combined, more = s2_combine_s1_mem_attrs(s1_into_s2, s2_attrs, features)
        steps += more
    else:
        combined, more = s2_apply_fwb_mem_attrs(s1_into_s2, s2, s2_shareability, s2_fnxs, features)  # type: ignore[arg-type]
        steps += more
        combined, more = stage2_overrides(combined, controls)
        steps += more
    final_share = effective_shareability(combined.memtype, combined.shareability)

    def text() -> str:
        line = f"{combined.memtype.short_name} is {final_share.long_name}"
        if final_share is not combined.shareability:
            return line + " (Device and Normal Non-cacheable are always Outer Shareable, RPYFVQ/RYHCTP)"
        return line + f" (the larger of stage 1 {s1_into_s2.shareability.value} and stage 2 {s2_shareability.value})"

    steps.append(Step("EffectiveShareability", f"{ASL} S2CombineS1Shareability, EffectiveShareability; D8.6.7.1",
                      text, combined.memtype.short_name))
    if (
        not controls.s1_effective_shareability
        and final_share is not Shareability.OSH
        and (isinstance(s1.memtype, Device) or (isinstance(s1.memtype, Normal) and s1.memtype.non_cacheable))
        and s1.shareability is not Shareability.OSH
    ):
        steps.append(Step("RNSCNC", "DDI0487 M.a D8.6.2 RNSCNC",
                          "stage 1 is Device or Normal Non-cacheable: it is IMPLEMENTATION DEFINED whether its "
                          "own Shareability or Outer Shareable enters stage 2; with Outer Shareable the result "
                          "would be Outer Shareable"))
    return MemoryAttributes(combined.memtype, final_share, combined.notagaccess), steps
