"""The columns of a conformance vector: inputs, expected outputs, and how an outcome is written.

Inputs (every one of them changes some result; DDI0487 M.a D8.6 and the ASL functions named in
:mod:`memattr.arch.combine`):

========== ===================================================================================
s1         stage-1 MAIR_ELx attribute byte, ``0x00`` .. ``0xff``
s2         stage-2 descriptor MemAttr[3:0], ``0x0`` .. ``0xf``
fwb        HCR_EL2.FWB (0/1)
features   implemented features that change decoding, ``+``-joined: XS, MTE2, MTE_PERM ('' for none)
s1_sh      stage-1 descriptor shareability: NSH, ISH, OSH
s2_sh      stage-2 descriptor shareability: NSH, ISH, OSH
fnxs       stage-2 descriptor FnXS (bit 11, FEAT_XS) (0/1)
hcr_cd     HCR_EL2.CD (0/1)
hcr_dc     HCR_EL2.DC (0/1)
sctlr_c    SCTLR_EL1.C (0/1)
========== ===================================================================================

Outputs, for a data access by EL1&0 with stage 1 and stage 2 enabled:

================ ==============================================================================
memory_type      Device-nGnRnE .. Device-GRE, Normal-i<NC|WT|WB>-o<NC|WT|WB>, or UNPREDICTABLE
inner, outer     Normal only: NC, WT or WB
inner_alloc,     Normal cacheable only: No, RA, WA or RWA (read/write-allocate hints)
outer_alloc
inner_transient, Normal cacheable only: 0/1
outer_transient
shareability     NSH, ISH or OSH (after EffectiveShareability)
xs               the XS attribute, 0/1
tags             Untagged, Tagged or CanonicallyTagged (FEAT_MTE2)
notagaccess      FEAT_MTE_PERM NoTagAccess, 0/1
reserved         1 when an input is a reserved encoding (CONSTRAINED UNPREDICTABLE)
allowed          for reserved inputs: every permitted outcome, ``|``-joined outcome codes
================ ==============================================================================

An outcome code is the output columns ``memory_type`` .. ``notagaccess`` joined with ``/``.
An implementation's CSV may instead give ``attr`` (a MAIR-format byte, as PAR_EL1.ATTR reports it)
and ``shareability``; the byte is decoded with FEAT_XS and FEAT_MTE2 semantics.
"""

from __future__ import annotations

from memattr.arch.memtypes import Device, MemoryAttributes, Normal

INPUT_COLUMNS = ("s1", "s2", "fwb", "features", "s1_sh", "s2_sh", "fnxs", "hcr_cd", "hcr_dc", "sctlr_c")
OUTCOME_COLUMNS = ("memory_type", "inner", "inner_alloc", "inner_transient", "outer", "outer_alloc",
                   "outer_transient", "shareability", "xs", "tags", "notagaccess")
EXPECTED_COLUMNS = INPUT_COLUMNS + OUTCOME_COLUMNS + ("reserved", "allowed")
SHAREABILITIES = ("NSH", "ISH", "OSH")
FEATURE_ORDER = ("XS", "MTE2", "MTE_PERM")
# Every feature set, smallest first: '' , XS, MTE2, XS+MTE2, ...
FEATURE_SETS: tuple[frozenset[str], ...] = tuple(
    frozenset(name for bit, name in enumerate(FEATURE_ORDER) if mask >> bit & 1) for mask in range(8)
)


def features_text(features: frozenset[str]) -> str:
    return "+".join(name for name in FEATURE_ORDER if name in features)


def parse_features_text(text: str) -> frozenset[str]:
    names = frozenset(part for part in text.replace(",", "+").split("+") if part)
    unknown = names - set(FEATURE_ORDER)
    if unknown:
        raise ValueError(f"unknown features {', '.join(sorted(unknown))}")
    return names


def outcome_fields(attrs: MemoryAttributes) -> tuple[str, ...]:
    """The output columns of one outcome, as strings."""
    memtype = attrs.memtype
    common = (attrs.shareability.value, str(int(memtype.xs)))
    if isinstance(memtype, Device):
        return (memtype.short_name, "", "", "", "", "", "", *common, "Untagged", str(int(attrs.notagaccess)))
    assert isinstance(memtype, Normal)
    levels = []
    for level in (memtype.inner, memtype.outer):
        if level.cacheable:
            levels += [level.cacheability.value, level.hints.value, str(int(level.transient))]
        else:
            levels += [level.cacheability.value, "", ""]
    return (memtype.short_name, *levels, *common, memtype.tags.value, str(int(attrs.notagaccess)))


def outcome_code(fields: tuple[str, ...]) -> str:
    return "/".join(fields)
