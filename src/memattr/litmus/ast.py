"""Litmus tests as values: instructions, threads, initial state, conditions, and memattr's extension.

The format is herdtools7's AArch64 litmus format.  memattr's device-memory extension lives in
comments herd ignores, ``(* memattr: ... *)``, so every test stays runnable by herd7:

    (* memattr: x = Normal-iNC-oNC @ bar0; cfg = Device-nGnRnE @ cfg0; device P2 *)

gives locations a memory type (canonical names of :mod:`memattr.arch`) and a peripheral (endpoint),
and marks threads that are peripherals observing accesses as they arrive (see docs/litmus.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True, slots=True)
class Reg:
    """A register operand; ``name`` is canonical (X0..X30, XZR) and ``width`` 32 or 64."""

    name: str
    width: int

    def __str__(self) -> str:
        prefix = "W" if self.width == 32 else "X"
        return prefix + self.name[1:]


@dataclass(frozen=True, slots=True)
class Imm:
    value: int


@dataclass(frozen=True, slots=True)
class Mem:
    """``[Xn]``, ``[Xn,#imm]`` or ``[Xn,Xm]`` / ``[Xn,Wm,SXTW]`` (register offset)."""

    base: Reg
    offset: Reg | Imm | None = None
    post: Imm | None = None  # post-index "[Xn],#imm": access at Xn, then Xn += imm
    pre: bool = False  # pre-index "[Xn,#imm]!": Xn += imm, then access at Xn
    scale: "Shift | None" = None  # a register offset's extension and shift: [Xn,Wm,SXTW], [Xn,Xm,LSL #2]


@dataclass(frozen=True, slots=True)
class Shift:
    """A shift applied to the operand before it: ``LSL #16`` of MOVZ/MOVK, ``ASR #1`` of a shifted register."""

    kind: str  # LSL, LSR or ASR
    amount: int


Operand = Union[Reg, Imm, Mem, Shift, str]


@dataclass(frozen=True, slots=True)
class Instr:
    op: str  # upper-case mnemonic, e.g. LDR, STLR, CASAL, DMB, B.EQ
    args: tuple[Operand, ...]
    line: int
    label: str | None = None  # a label attached to this instruction
    text: str = ""

    def __str__(self) -> str:
        return self.text or self.op


@dataclass(frozen=True, slots=True)
class Atom:
    """``T:Xn=v`` (register), ``x=v`` (location) in a condition; ``t={1,2}`` (a whole array: a tuple of values);
    ``fault(P0:L0,x)`` (thread 0's fault, at label L0 when ``label`` is given: its value is 1)."""

    thread: int | None
    name: str  # register canonical name or location
    value: int | str | tuple[int, ...]
    label: str | None = None  # the label of a fault atom's instruction, as herd7 shows it


@dataclass(frozen=True, slots=True)
class Not:
    inner: "Prop"


@dataclass(frozen=True, slots=True)
class And:
    left: "Prop"
    right: "Prop"


@dataclass(frozen=True, slots=True)
class Or:
    left: "Prop"
    right: "Prop"


@dataclass(frozen=True, slots=True)
class Implies:
    """herd7's ``A => B``: not A, or B."""

    left: "Prop"
    right: "Prop"


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


Prop = Union[Atom, Not, And, Or, Implies, Const]


def atoms_of(prop: "Prop | None") -> list[Atom]:
    """The atoms of a condition, left to right (with repeats)."""
    if isinstance(prop, Atom):
        return [prop]
    if isinstance(prop, Not):
        return atoms_of(prop.inner)
    if isinstance(prop, (And, Or, Implies)):
        return atoms_of(prop.left) + atoms_of(prop.right)
    return []


@dataclass(frozen=True, slots=True)
class Condition:
    quantifier: str  # "exists", "~exists" or "forall"
    prop: Prop


@dataclass(frozen=True, slots=True)
class LocationAttrs:
    memtype: str  # canonical memattr name
    peripheral: str | None  # the endpoint; None for ordinary memory


ORDINARY = LocationAttrs("Normal-iWB-oWB", None)  # a location the test does not annotate


# A C type of herd7's initial state: its width in bits and whether it is signed.
CType = tuple[int, bool]
INT: CType = (32, True)  # herd7's type of a register or location the test does not declare


def as_type(value: int, ctype: CType) -> int:
    """A number as a value of a C type: reduced to its width and, for a signed type, two's complement
    (int8_t 255 is -1, uint8_t 256 is 0)."""
    bits, signed = ctype
    value &= (1 << bits) - 1
    return value - (1 << bits) if signed and value >> (bits - 1) else value


def show_value(value: int | str, ctype: CType) -> str:
    """A final value as herd7 shows it: a number as its type (int8_t 255 is -1), a location or label as named."""
    return value if isinstance(value, str) else str(as_type(value, ctype))


# The herd7 variants (herd/variant.ml; a test's "Variant=" line or herd7 -variant) that memattr models, as
# herd7 spells them, with what each changes.  Names compare without case, as herd7's do; a test holds them in
# lower case.  Any other variant has no effect in memattr.
MODELLED_VARIANTS: dict[str, str] = {
    "fatal": "a UDF or SVC ends its thread (herd7's Fault handling 'fatal')",
    "mixed": "mixed-size accesses: memory is cells of one granule (memattr.litmus.mixed)",
    "NV2": "FEAT_NV2: MRS/MSR of a Table D8-120 register at EL1 is a load or store at VNCR_EL2 plus its offset",
}
MODELLED = frozenset(name.lower() for name in MODELLED_VARIANTS)


@dataclass(frozen=True, slots=True)
class LitmusTest:
    name: str
    arch: str
    doc: str
    init_regs: dict[tuple[int, str], int | str]  # (thread, canonical register) -> value or location
    init_mem: dict[str, int | str]  # a location's initial value: a number, or a location (a pointer)
    threads: tuple[tuple[Instr, ...], ...]
    condition: Condition
    locations: tuple[Atom, ...] = ()  # "locations [...]" extra observed state
    attrs: dict[str, LocationAttrs] = field(default_factory=dict)
    devices: frozenset[int] = frozenset()  # threads that are peripherals (endpoint observers)
    source: str = ""
    arrays: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (element bytes, elements)
    # Declared types of registers (thread, register) and locations (None, location), as (bits, signed); herd7
    # compares a register or location with the condition at its type's width and shows its final value as
    # that type, "int" (INT) when the test does not declare one.
    reg_types: dict[tuple[int | None, str], CType] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what the parser accepted as herd7 does but a reader should know (a typo'd type)
    variants: frozenset[str] = frozenset()  # herd7 "Variant=" options the test names (lower case)
    filter: "Prop | None" = None  # herd7's "filter": only executions whose final state satisfies it count
    # Variant=mixed: memory is cells of one granule (memattr.litmus.mixed.mixed_view sets this).
    mixed: Any = None

    def location_attrs(self, location: str) -> LocationAttrs:
        """A location's memory type and peripheral: ordinary (Normal Write-Back, no peripheral) unless the
        test's memattr annotation says otherwise."""
        return self.attrs.get(location, ORDINARY)

    @property
    def memory_locations(self) -> tuple[str, ...]:
        """Every memory cell: scalar locations, and each element of an array as "x[1]" (mixed-size: the cells)."""
        if self.mixed is not None:
            return tuple(sorted(self.init_mem))
        names = set(self.init_mem)
        for value in [*self.init_regs.values(), *self.init_mem.values()]:
            if isinstance(value, str):
                base = value.split("+")[0].split("-")[0]
                if base not in self.arrays:
                    names.add(base)
        return tuple(sorted(names))
