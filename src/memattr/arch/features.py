"""Architecture features that change how encodings decode.

The same MAIR byte or stage-2 MemAttr value decodes differently with and without these features,
so every decoder takes the implemented set as an input.
"""

from __future__ import annotations

from typing import NamedTuple

from memattr.errors import MemattrError


class Feature(NamedTuple):
    """One architectural feature memattr models: a row of FEATURES (a named tuple, as fact-table rows are)."""

    name: str
    arm_name: str
    effect: str
    source: str


# One row per feature memattr knows; the CLI's --features choices derive from this table.
FEATURES: tuple[Feature, ...] = (
    Feature(
        "XS", "FEAT_XS",
        "MAIR encodings 0b0000dd01, 0x40 and 0xA0 become allocated (XS=0); stage-2 descriptor bit 11 is FnXS",
        "DDI0487 M.a D24.2.127 MAIR_EL1.Attr<n>; ASL S1ConstrainUnpredictableRESMAIR",
    ),
    Feature(
        "MTE2", "FEAT_MTE2",
        "MAIR encoding 0xF0 becomes Tagged Normal Write-Back; tags survive stage 2 only over Write-Back RWA",
        "DDI0487 M.a D24.2.127 MAIR_EL1.Attr<n>; ASL S2MemTagType",
    ),
    Feature(
        "MTE_PERM", "FEAT_MTE_PERM",
        "stage-2 MemAttr 0b0100 (FWB off) and 0b111x (FWB on) add NoTagAccess; MemAttr[3] is no longer RES0 with FWB",
        "DDI0487 M.a D8.6.5 Table D8-96, D8.6.6 RVRJSW/RJXGKQ; ASL S2DecodeMemAttrs, AArch64.S2ApplyFWBMemAttrs",
    ),
)

KNOWN_FEATURES = frozenset(feature.name for feature in FEATURES)
FeatureSet = frozenset[str]
NO_FEATURES: FeatureSet = frozenset()
ALL_FEATURES: FeatureSet = KNOWN_FEATURES


def parse_features(text: str | None) -> FeatureSet:
    """Parse ``XS,MTE2`` (case-insensitive, ``FEAT_`` prefix optional) into a feature set."""
    if text is None or not text.strip():
        return NO_FEATURES
    names = set()
    for raw in text.split(","):
        name = raw.strip().upper()
        if name.startswith("FEAT_"):
            name = name[len("FEAT_"):]
        if name == "S2FWB":
            raise MemattrError(
                "FEAT_S2FWB is selected with --fwb (HCR_EL2.FWB=1), not with --features",
                expected=f"features among {', '.join(sorted(KNOWN_FEATURES))}",
            )
        if name not in KNOWN_FEATURES:
            raise MemattrError(
                f"unknown feature {raw.strip()!r}",
                expected=f"a comma-separated list of {', '.join(sorted(KNOWN_FEATURES))}",
            )
        names.add(name)
    return frozenset(names)


def check_features(features: FeatureSet) -> FeatureSet:
    unknown = set(features) - KNOWN_FEATURES
    if unknown:
        raise ValueError(f"unknown features {sorted(unknown)}; known: {sorted(KNOWN_FEATURES)}")
    return frozenset(features)
