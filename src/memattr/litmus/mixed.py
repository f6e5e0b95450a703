"""Mixed-size accesses as herd7 has them (``Variant=mixed``, herd7 -variant mixed).

Every location becomes a row of granules, one memory cell each (``x@0``, ``x@4``...), and an access of N
bytes becomes N / granule accesses to consecutive cells, least significant first (little-endian), that are
together one single-copy-atomic access (herd's sca class: the model's ``sca`` relation).  Reads-from and
coherence are per cell; an observer that sees one write of an access sees the whole access (``obs; sca``),
which rules torn candidates out.  The granule is one size for the whole test: the smallest of the declared
location types and the instructions' access sizes, or half of it when the test uses one size only
(herd/runTest.ml with -machsize auto).  A location's value in a condition is recomposed from its cells.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from memattr.errors import MemattrError
from memattr.litmus.ast import LitmusTest
from memattr.litmus.parser import AMOS, LOADS, STADDS, STORE_EXCL, STORES
from memattr.litmus.semantics import access_bytes


@dataclass(frozen=True)
class MixedLayout:
    granule: int  # bytes
    size: dict[str, int]  # location -> bytes
    # A name a condition may use ("x", "t[1]") -> (location, byte offset, bytes).
    observed: dict[str, tuple[str, int, int]]

    def cells(self, location: str, offset: int, size: int) -> list[str]:
        return [cell(location, offset + piece) for piece in range(0, size, self.granule)]


def cell(location: str, offset: int) -> str:
    return f"{location}@{offset}"


def mixed_view(test: LitmusTest) -> LitmusTest:
    """The test with its memory as cells of one granule (see the module docstring)."""
    if test.attrs or any(loc.startswith("PTE(") for loc in test.memory_locations):
        raise MemattrError("Variant=mixed with memory types or translation tables is not supported",
                           source=test.source, expected="a mixed-size test of ordinary memory")
    sizes = set()
    for thread in test.threads:
        for instr in thread:
            if instr.op in LOADS or instr.op in STORES or instr.op in AMOS or instr.op in STADDS:
                sizes.add(access_bytes(instr.op, instr.args[0]))  # type: ignore[arg-type]
            elif instr.op in STORE_EXCL:
                sizes.add(access_bytes(instr.op, instr.args[1]))  # type: ignore[arg-type]
    location_size: dict[str, int] = {}
    observed: dict[str, tuple[str, int, int]] = {}
    for name, (element, count) in test.arrays.items():
        location_size[name] = element * count
        sizes.add(element)
        for index in range(count):
            observed[f"{name}[{index}]"] = (name, index * element, element)
    for loc in test.memory_locations:
        if "[" in loc:
            continue
        declared = test.reg_types.get((None, loc))
        if declared is not None:
            sizes.add(declared[0] // 8)
        location_size[loc] = declared[0] // 8 if declared else 4  # herd7's default type, int
        observed[loc] = (loc, 0, location_size[loc])
    ordered = sorted(sizes) or [1]
    granule = max(1, ordered[0] // 2) if len(ordered) == 1 else ordered[0]
    layout = MixedLayout(granule, location_size, observed)
    mask = (1 << 8 * granule) - 1
    init: dict[str, int | str] = {}
    for name, (location, offset, size) in observed.items():
        value = test.init_mem.get(name, 0)
        if isinstance(value, str):
            raise MemattrError(f"Variant=mixed with a pointer in memory ({name}={value}) is not supported",
                               source=test.source, expected="numbers in a mixed-size test's memory")
        for piece in range(0, size, granule):
            init[cell(location, offset + piece)] = (value >> 8 * piece) & mask
    return replace(test, init_mem=init, mixed=layout)  # arrays stay: the final state shows them whole


def recompose(layout: MixedLayout, values: dict[tuple[int | None, str], int | str]) -> None:
    """Add each observed location's value, composed from its cells' values (least significant first)."""
    for name, (location, offset, size) in layout.observed.items():
        pieces = [values.get((None, cell(location, offset + piece))) for piece in range(0, size, layout.granule)]
        if all(isinstance(piece, int) for piece in pieces):
            values[(None, name)] = sum(piece << 8 * layout.granule * n for n, piece in enumerate(pieces))  # type: ignore[operator]
