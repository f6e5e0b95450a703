"""The full stage-1 x stage-2 matrix: every MAIR byte against every stage-2 MemAttr value."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from memattr.arch.combine import (
    Combination,
    HasResult,
    Controls,
    combine_decoded,
    s2_decode_step,
    stage1_cached,
    translate,
)
from memattr.arch.features import check_features
from memattr.arch.stage2 import decode_s2_memattr, same_attribute
from memattr.arch.features import NO_FEATURES, FeatureSet
from memattr.arch.memtypes import MemoryAttributes, Normal, Shareability, TagType, Unpredictable


@dataclass(frozen=True, slots=True)
class Cell(HasResult):
    s1: int
    s2: int
    fwb: bool
    result: MemoryAttributes | Unpredictable
    # The whole combination (with its explanation), made when asked: the matrix needs only results.
    explain: Callable[[], Combination] = field(compare=False, repr=False)
    # For reserved inputs: the memory types the constrained-unpredictable choices allow, read off the
    # matrix's own cells when asked (see :func:`_possible_names`).
    resolver: Callable[[int, int], tuple[str, ...]] | None = field(default=None, compare=False, repr=False)

    @property
    def combination(self) -> Combination:
        return self.explain()

    @property
    def possible_names(self) -> tuple[str, ...]:
        if self.resolver is not None:
            return self.resolver(self.s1, self.s2)
        return tuple(sorted({p.short_name for p in self.combination.possible}))

    def to_json(self) -> dict[str, Any]:
        result = self.result
        attrs = result if isinstance(result, MemoryAttributes) else None
        data: dict[str, Any] = {
            "s1": f"{self.s1:#04x}",
            "s2": f"{self.s2:#03x}",
            "memory_type": self.memory_type,
            "shareability": attrs.shareability.value if attrs else None,
            "xs": int(attrs.memtype.xs) if attrs else None,
            "tagged": (isinstance(attrs.memtype, Normal) and attrs.memtype.tags is TagType.ALLOCATION_TAGGED)
            if attrs else None,
        }
        if attrs is None:
            data["possible_memory_types"] = list(self.possible_names)
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
    cells = []
    for s1 in range(256):
        s1_attrs, s1_steps = stage1[s1]
        for s2 in range(16):
            explain = partial(combine_decoded, s1_attrs, s1_steps, stage2[s2], stage2_steps[s2],
                              s1_shareability=s1_shareability, s2_shareability=s2_shareability, s2_fnxs=False,
                              controls=controls, features=features)
            if isinstance(s1_attrs, Unpredictable) or isinstance(stage2[s2].attr, Unpredictable):
                # A reserved input: the result is that input's Unpredictable (stage 1's first), as
                # combine_decoded gives; its outcomes and explanation are made when asked.
                reserved = s1_attrs if isinstance(s1_attrs, Unpredictable) else stage2[s2].attr
                cells.append(Cell(s1, s2, fwb, reserved, explain))
            else:
                # Allocated inputs: the translation alone; combine_decoded gives the same result with its
                # explanation (tests/arch checks every cell against combine()).
                cells.append(Cell(s1, s2, fwb, translate(s1_attrs, stage2[s2].attr, s2_shareability, False, controls,
                                                         features), explain))
    return _possible_names(cells, stage1, stage2, controls)


def _possible_names(cells: list[Cell], stage1: list[Any], stage2: list[Any], controls: Controls) -> list[Cell]:
    """Fill in the possible memory types of reserved cells from the allocated cells of the matrix.

    A reserved encoding may behave as any allocated one (K1.2.19): a reserved stage-1 byte as any
    allocated byte (their stage-1 outputs are the candidates S1ConstrainUnpredictableRESMAIR lists), a
    reserved stage-2 value as the allocated values its candidates decode to.  So the possible types of
    a reserved cell are the types of the allocated cells it may stand for, with no combination rerun.
    ``tests/arch`` checks this against ``Combination.possible`` for every cell.
    """
    if controls != Controls(fwb=controls.fwb):
        return cells  # overrides change the candidates' stage-1 outputs: keep the general computation
    allocated_s1 = [s1 for s1 in range(256) if not isinstance(stage1[s1][0], Unpredictable)]
    allocated_s2 = {s2: stage2[s2].attr for s2 in range(16) if not isinstance(stage2[s2].attr, Unpredictable)}

    stand_ins: dict[int, list[int]] = {}
    for s2 in range(16):
        attr = stage2[s2].attr
        stand_ins[s2] = [s2] if not isinstance(attr, Unpredictable) else [
            other for other, decoded in allocated_s2.items()
            if any(same_attribute(decoded, candidate) for candidate in attr.candidates)]
    any_row: dict[int, tuple[str, ...]] = {}  # reserved stage 1: the same for every reserved byte
    types: list[str] = []  # each cell's memory type, read once when the first reserved cell asks

    def possible(s1: int, s2: int) -> set[str]:
        if not types:
            types.extend(cell.memory_type for cell in cells)
        return {types[s1 * 16 + other] for other in stand_ins[s2]}

    def resolve(s1: int, s2: int) -> tuple[str, ...]:
        if not isinstance(stage1[s1][0], Unpredictable):
            return tuple(sorted(possible(s1, s2)))
        names = any_row.get(s2)
        if names is None:
            names = any_row[s2] = tuple(sorted(set().union(*(possible(other, s2) for other in allocated_s1))))
        return names

    return [cell if not cell.unpredictable else Cell(cell.s1, cell.s2, cell.fwb, cell.result, cell.explain, resolve)
            for cell in cells]
