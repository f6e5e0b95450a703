"""The full stage-1 x stage-2 matrix: every MAIR byte against every stage-2 MemAttr value."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

from memattr.arch.combine import (
    Combination,
    Controls,
    combine_decoded,
    s2_decode_step,
    stage1_cached,
)
from memattr.arch.features import check_features
from memattr.arch.stage2 import decode_s2_memattr
from memattr.arch.features import NO_FEATURES, FeatureSet
from memattr.arch.memtypes import MemoryAttributes, Normal, Shareability, TagType


@dataclass(frozen=True, slots=True)
class Cell:
    s1: int
    s2: int
    fwb: bool
    combination: Combination

    def to_json(self) -> dict[str, Any]:
        result = self.combination.result
        attrs = result if isinstance(result, MemoryAttributes) else None
        data: dict[str, Any] = {
            "s1": f"{self.s1:#04x}",
            "s2": f"{self.s2:#03x}",
            "memory_type": self.combination.memory_type,
            "shareability": attrs.shareability.value if attrs else None,
            "xs": int(attrs.memtype.xs) if attrs else None,
            "tagged": (isinstance(attrs.memtype, Normal) and attrs.memtype.tags is TagType.ALLOCATION_TAGGED)
            if attrs else None,
        }
        if attrs is None:
            data["possible_memory_types"] = sorted({p.short_name for p in self.combination.possible})
        return data


def matrix(
    *,
    fwb: bool,
    features: FeatureSet = NO_FEATURES,
    s1_shareability: Shareability = Shareability.ISH,
    s2_shareability: Shareability = Shareability.ISH,
) -> list[Cell]:
    """All 256 x 16 cells, stage-1 byte major, with the given FWB setting and features."""
    controls = Controls(fwb=fwb)
    # Thousands of small immutable values and no reference cycles: the cyclic collector only costs here.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _cells(fwb, features, s1_shareability, s2_shareability, controls)
    finally:
        if enabled:
            gc.enable()


def _cells(fwb: bool, features: FeatureSet, s1_shareability: Shareability, s2_shareability: Shareability,
           controls: Controls) -> list[Cell]:
    # Decode each stage-1 byte and each stage-2 value once, then combine every pair.
    features = check_features(features)
    stage1 = [stage1_cached(s1, s1_shareability, controls, features) for s1 in range(256)]
    stage2 = [decode_s2_memattr(s2, fwb=fwb, features=features) for s2 in range(16)]
    stage2_steps = [s2_decode_step(decoded) for decoded in stage2]
    return [
        Cell(s1, s2, fwb, combine_decoded(*stage1[s1], stage2[s2], stage2_steps[s2], s1_shareability=s1_shareability,
                                          s2_shareability=s2_shareability, s2_fnxs=False, controls=controls,
                                          features=features))
        for s1 in range(256)
        for s2 in range(16)
    ]
