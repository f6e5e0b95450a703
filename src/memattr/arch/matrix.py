"""The full stage-1 x stage-2 matrix: every MAIR byte against every stage-2 MemAttr value."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

from memattr.arch.combine import (
    Combination,
    HasResult,
    Controls,
    Step,
    combine_decoded,
    s2_decode_step,
    stage1_cached,
    translator,
)
from memattr.arch.features import NO_FEATURES, FeatureSet, check_features
from memattr.arch.stage2 import S2Decoded, decode_s2_memattr, same_attribute
from memattr.arch.memtypes import MemoryAttributes, Normal, Shareability, TagType, Unpredictable


@dataclass(frozen=True, slots=True)
class Matrix:
    """The 256 x 16 results of one setting, stage-1 byte major, and what explains any cell on demand.

    ``results[s1 * 16 + s2]`` is the effective attributes of an allocated cell, or the reserved input's
    :class:`Unpredictable` (stage 1's first, as :func:`combine` gives).  Explanations and the possible
    types of reserved cells are made only when asked: a table needs the results alone.
    """

    fwb: bool
    features: FeatureSet
    s1_shareability: Shareability
    s2_shareability: Shareability
    results: tuple[MemoryAttributes | Unpredictable, ...]
    stage1: tuple[tuple[MemoryAttributes | Unpredictable, tuple[Step, ...]], ...] = field(repr=False)
    stage2: tuple[S2Decoded, ...] = field(repr=False)
    # The allocated stage-2 values each stage-2 value may behave as: itself, or a reserved one's candidates.
    stand_ins: tuple[tuple[int, ...], ...] = field(compare=False, repr=False)
    # Possible memory types of reserved cells, filled as they are asked for (see possible_names).
    _possible: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def controls(self) -> Controls:
        """The control bits every cell was computed with: a running guest's, with this FWB setting."""
        return Controls(fwb=self.fwb)

    def combination(self, s1: int, s2: int) -> Combination:
        """The cell's whole combination, with its explanation (:func:`combine` of the same inputs)."""
        s1_attrs, s1_steps = self.stage1[s1]
        return combine_decoded(s1_attrs, s1_steps, self.stage2[s2], s2_decode_step(self.stage2[s2]),
                               s1_shareability=self.s1_shareability, s2_shareability=self.s2_shareability,
                               s2_fnxs=False, controls=self.controls, features=self.features)

    def possible_names(self, s1: int, s2: int) -> tuple[str, ...]:
        """The memory types a cell may have: its own, or for a reserved input every type the
        constrained-unpredictable choices allow, read off the allocated cells of this matrix.

        A reserved encoding may behave as any allocated one (K1.2.19): a reserved stage-1 byte as any
        allocated byte (their stage-1 outputs are the candidates S1ConstrainUnpredictableRESMAIR lists), a
        reserved stage-2 value as the allocated values its candidates decode to.  So the possible types of
        a reserved cell are the types of the allocated cells it may stand for, with no combination rerun.
        ``tests/arch`` checks this against ``Combination.possible`` for every cell.
        """
        result = self.results[s1 * 16 + s2]
        if not isinstance(result, Unpredictable):
            return (result.short_name,)
        reserved_s1 = isinstance(self.stage1[s1][0], Unpredictable)
        key = (-1 if reserved_s1 else s1, s2)  # every reserved byte stands for the same allocated ones
        names = self._possible.get(key)
        if names is None:
            rows = [other for other in range(256) if not isinstance(self.stage1[other][0], Unpredictable)] \
                if reserved_s1 else [s1]
            columns = self.stand_ins[s2]
            names = self._possible[key] = tuple(sorted({
                self.results[row * 16 + column].short_name for row in rows for column in columns}))
        return names

    def cells(self) -> list[Cell]:
        return [Cell(index >> 4, index & 15, self.fwb, result, self) for index, result in enumerate(self.results)]


@dataclass(frozen=True, slots=True)
class Cell(HasResult):
    """One cell of a :class:`Matrix`: its inputs and result; the rest is asked of the matrix."""

    s1: int
    s2: int
    fwb: bool
    result: MemoryAttributes | Unpredictable
    matrix: Matrix = field(compare=False, repr=False)

    @property
    def combination(self) -> Combination:
        return self.matrix.combination(self.s1, self.s2)

    @property
    def possible_names(self) -> tuple[str, ...]:
        return self.matrix.possible_names(self.s1, self.s2)

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


def full_matrix(
    *,
    fwb: bool,
    features: FeatureSet = NO_FEATURES,
    s1_shareability: Shareability = Shareability.ISH,
    s2_shareability: Shareability = Shareability.ISH,
) -> Matrix:
    """All 256 x 16 results with the given FWB setting and features."""
    features = check_features(features)
    controls = Controls(fwb=fwb)
    # Thousands of small immutable values and no reference cycles: the cyclic collector only costs here.
    enabled = gc.isenabled()
    gc.disable()
    try:
        # Decode each stage-1 byte and each stage-2 value once, then translate every allocated pair.
        stage1 = tuple(stage1_cached(s1, s1_shareability, controls, features) for s1 in range(256))
        stage2 = tuple(decode_s2_memattr(s2, fwb=fwb, features=features) for s2 in range(16))
        columns = [None if isinstance(decoded.attr, Unpredictable)
                   else translator(decoded.attr, s2_shareability, False, controls, features) for decoded in stage2]
        results: list[MemoryAttributes | Unpredictable] = []
        for s1_attrs, _ in stage1:
            if isinstance(s1_attrs, Unpredictable):
                results.extend([s1_attrs] * 16)  # a reserved input: its Unpredictable, stage 1's first
                continue
            for s2, run in enumerate(columns):
                # The translation alone; combine_decoded gives the same result with its explanation
                # (tests/arch checks every cell against combine()).
                results.append(stage2[s2].attr if run is None else run(s1_attrs))  # type: ignore[arg-type]
    finally:
        if enabled:
            gc.enable()
    allocated = [s2 for s2 in range(16) if not isinstance(stage2[s2].attr, Unpredictable)]
    stand_ins = tuple((s2,) if not isinstance(decoded.attr, Unpredictable) else tuple(
        other for other in allocated if any(same_attribute(stage2[other].attr, candidate)
                                            for candidate in decoded.attr.candidates))
        for s2, decoded in enumerate(stage2))
    return Matrix(fwb, features, s1_shareability, s2_shareability, tuple(results), stage1, stage2, stand_ins)


def matrix(
    *,
    fwb: bool,
    features: FeatureSet = NO_FEATURES,
    s1_shareability: Shareability = Shareability.ISH,
    s2_shareability: Shareability = Shareability.ISH,
) -> list[Cell]:
    """All 256 x 16 cells, stage-1 byte major, with the given FWB setting and features."""
    return full_matrix(fwb=fwb, features=features, s1_shareability=s1_shareability,
                       s2_shareability=s2_shareability).cells()
