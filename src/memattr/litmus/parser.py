"""Parse herdtools7 AArch64 litmus tests (plus memattr's extension comments).

Errors are :class:`MemattrError` with the file and line, and what was expected there.
"""

from __future__ import annotations

import re
from dataclasses import replace
import zlib
from pathlib import Path

from memattr.arch.memtypes import CANONICAL_NAMES, parse_memory_type
from memattr.arch.nv2 import OFFSET_IF_NV1_0, OFFSET_IF_NV1_1
from memattr.errors import MemattrError
from memattr.inputs import read_text
from memattr.litmus.ast import (
    And,
    as_type,
    atoms_of,
    Atom,
    Condition,
    Const,
    CType,
    Imm,
    Implies,
    Instr,
    LitmusTest,
    MODELLED,
    MODELLED_VARIANTS,
    LocationAttrs,
    Mem,
    Not,
    Or,
    Prop,
    Reg,
    Shift,
)

_COMMENT = re.compile(r"\(\*.*?\*\)", re.S)
_MEMATTR = re.compile(r"\(\*\s*memattr:(.*?)\*\)", re.S)
_REG = re.compile(r"^(?P<kind>[XW])(?P<num>\d+|ZR)$|^(?P<sp>W?SP)$", re.I)
_LABEL = re.compile(r"^(?P<label>\.?[A-Za-z_][A-Za-z0-9_]*):\s*(?P<rest>.*)$")
_RELATIVE = re.compile(r"^\.\s*([+-])\s*(\d{1,6})$")  # a branch target "." +/- bytes: herd7's B .+8
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

LOADS = {"LDR", "LDRB", "LDRH", "LDAR", "LDARB", "LDARH", "LDAPR", "LDAPRB", "LDAPRH",
         "LDXR", "LDXRB", "LDXRH", "LDAXR", "LDAXRB", "LDAXRH", "LDRSB", "LDRSH", "LDRSW", "LDUR"}
STORES = {"STR", "STRB", "STRH", "STLR", "STLRB", "STLRH", "STUR"}
STORE_EXCL = {"STXR", "STXRB", "STXRH", "STLXR", "STLXRB", "STLXRH"}
LOAD_EXCL_PAIRS = {"LDXP", "LDAXP"}  # exclusive pairs: two accesses that are one single-copy-atomic access
STORE_EXCL_PAIRS = {"STXP", "STLXP"}
SYSTEM_REGISTERS = frozenset(OFFSET_IF_NV1_0) | frozenset(OFFSET_IF_NV1_1)  # MRS/MSR operands besides NZCV
_AMO_BASES = ("CAS", "SWP", "LDADD", "LDEOR", "LDSET", "LDCLR")
AMOS = {base + sem + size for base in _AMO_BASES for sem in ("", "A", "L", "AL") for size in ("", "B", "H")}
# Pair loads and stores; LDIAPP/STILP (FEAT_LRCPC3, herd7 also spells them LDAP/STLP) are RCpc ordered.
PAIRS = {"LDP", "STP", "LDNP", "STNP", "LDPSW", "LDIAPP", "STILP", "LDAP", "STLP"}
CASPS = {"CASP" + sem for sem in ("", "A", "L", "AL")}  # compare and swap pair
STADDS = {base + sem + size for base in ("STADD", "STEOR", "STSET", "STCLR") for sem in ("", "L") for size in ("", "B", "H")}
ALU = {"ADD", "SUB", "EOR", "AND", "ORR"}
MORE_ALU = {"MUL", "BIC", "BICS", "ORN", "EON"}  # handled with the flag-setting forms
MULTIPLY = {"MADD", "MSUB", "MNEG", "SMULL", "UMULL", "SMADDL", "UMADDL", "SMSUBL", "UMSUBL", "SMNEGL", "UMNEGL"}
BIT_OPS = {"RBIT", "REV", "REV16", "REV32", "REV64", "CLZ"}
EXTENDS = {"SXTB", "SXTH", "SXTW", "UXTB", "UXTH"}  # aliases of SBFM/UBFM
BARRIER_OPTIONS = {"SY", "ISH", "OSH", "NSH", "LD", "ST", "ISHLD", "ISHST", "OSHLD", "OSHST", "NSHLD", "NSHST"}
CONDITIONS = {"EQ", "NE", "CS", "HS", "CC", "LO", "MI", "PL", "VS", "VC", "HI", "LS", "GE", "LT", "GT", "LE", "AL",
              "NV"}
TLBI_OPS = {"VMALLS12E1IS", "VMALLS12E1", "IPAS2E1IS", "IPAS2E1", "VMALLE1IS", "VMALLE1", "VAE1IS", "VAE1",
            "ALLE1IS", "ALLE1", "VAAE1IS", "ASIDE1IS"}
FLAG_ALU = {"ADDS", "SUBS", "ANDS", "BICS"}  # ALU forms that set NZCV
SHIFTS = {"LSL", "LSR", "ASR", "ROR"}
WIDE_MOVES = {"MOVZ", "MOVN", "MOVK"}
CONDITIONAL_SELECTS = {"CSEL", "CSINC", "CSINV", "CSNEG"}
# Register-to-register instructions computed by ThreadRunner._arithmetic (all but MOV and CSEL).
DATA_PROCESSING = (ALU | MORE_ALU | FLAG_ALU | SHIFTS | WIDE_MOVES | (CONDITIONAL_SELECTS - {"CSEL"}) |
                   MULTIPLY | BIT_OPS | EXTENDS |
                   {"MVN", "NEG", "ABS", "CMP", "CMN", "TST", "CSET", "CSETM", "UBFM", "SBFM"})
SUPPORTED = (LOADS | STORES | STORE_EXCL | AMOS | STADDS | DATA_PROCESSING | CONDITIONAL_SELECTS |
             CASPS | LOAD_EXCL_PAIRS | STORE_EXCL_PAIRS |
             PAIRS | {"MRS", "MSR", "ADR", "BL", "BLR", "BR", "RET", "UDF", "SVC", "MOV", "CBZ", "CBNZ", "TBZ", "TBNZ", "B",
              "DMB", "DSB", "ISB", "TLBI", "NOP"} |
             {f"B.{c}" for c in CONDITIONS})


class _Source:
    def __init__(self, name: str) -> None:
        self.name = name
        # (thread, label, line): labels named outside the code (fault(P0:L0,...), code addresses), checked once
        # the threads are known.
        self.named_labels: list[tuple[int, str, int]] = []

    def error(self, line: int, message: str, expected: str | None = None) -> MemattrError:
        return MemattrError(message, source=self.name, line=line, expected=expected)


def parse_file(path: str | Path) -> LitmusTest:
    return parse_litmus(read_text(path, "litmus"), str(path))


def parse_litmus(text: str, source: str = "<litmus>") -> LitmusTest:
    """Parse a test; every problem is one MemattrError naming the line."""
    try:
        return _parse_litmus(text, source)
    except RecursionError:
        raise MemattrError("expression nested too deeply", source=source,
                           expected="a condition of ordinary depth") from None


def _parse_litmus(text: str, source: str) -> LitmusTest:
    src = _Source(source)
    extension = " ".join(match.group(1) for match in _MEMATTR.finditer(text))
    # Blank out comments but keep line numbers.
    stripped = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    lines = stripped.split("\n")
    index = _skip_blank(lines, 0)
    if index >= len(lines):
        raise src.error(1, "empty litmus test", "'AArch64 NAME' on the first line")
    header = lines[index].split()
    if len(header) < 2 or header[0] not in ("AArch64", "ARM64"):
        raise src.error(index + 1, f"not an AArch64 litmus header: {lines[index].strip()[:60]!r}",
                        "'AArch64 NAME'")
    name = " ".join(header[1:])
    # herd7's names (lib/splitter.mll, Misc.clean_name): "--" is the file's name, and ".litmus" is dropped.
    name = Path(src.name).stem if name == "--" else name.removesuffix(".litmus")
    index += 1
    doc_lines = []
    ignored: list[str] = []
    variants: set[str] = set()
    while index < len(lines) and "{" not in lines[index]:
        line = lines[index].strip()
        if line.startswith('"'):
            doc_lines.append(line.strip('"'))
        elif line.startswith("Variant="):  # herd7 options the test asks for, e.g. Variant=fatal
            named = [v.strip() for v in line.split("=", 1)[1].split(",") if v.strip()]
            variants.update(v.lower() for v in named)
            for variant in named:
                if variant.lower() not in MODELLED:
                    ignored.append(f"{src.name}:{index + 1}: Variant={variant} is not modelled by memattr (it models "
                                   f"{', '.join(MODELLED_VARIANTS)}): the test runs without it, so its result may "
                                   f"differ from herd7's")
        elif line and "=" not in line:
            # herd7 skips any other text before the initial state (lib/splitter.mll find_init); say so.
            ignored.append(f"{src.name}:{index + 1}: text before the initial state ignored, as herd7 does: "
                           f"{line[:60]!r}")
        index += 1
    if index >= len(lines):
        raise src.error(index, "missing initial state", "'{ ... }'")
    init_start = index + 1
    init_text, index = _braced(lines, index, src)
    init_regs, init_mem, arrays, reg_types, notes = _parse_init(init_text, init_start, src)
    index = _skip_blank(lines, index)
    if index >= len(lines):
        raise src.error(index, "missing thread table", "'P0 | P1 ;'")
    threads, index = _parse_threads(lines, index, src)
    rest_start = index
    rest = "\n".join(lines[index:])
    locations: tuple[Atom, ...] = ()
    loc_match = re.search(r"locations\s*\[((?:[^\[\]]|\[\d+\])*)\]", rest, re.S)  # "v[0]" inside
    if loc_match:
        line_of = rest_start + rest[:loc_match.start()].count("\n") + 1
        # An item may carry a type for printing ("0:X2 ins_t"): the type is dropped.
        locations = tuple(_parse_atom(item.split()[0], line_of, src) for item in loc_match.group(1).split(";")
                          if item.strip())
        rest = rest[:loc_match.start()] + "\n" * loc_match.group(0).count("\n") + rest[loc_match.end():]
    filter_prop = None
    filter_match = re.search(r"\bfilter\b(.*?)(?=(?:~\s*)?\bexists\b|\bforall\b|\Z)", rest, re.S)
    if filter_match:  # herd7's "filter PROP": executions whose final state fails it are not counted
        line_of = rest_start + rest[:filter_match.start()].count("\n")
        filter_prop = _parse_condition("exists " + filter_match.group(1), line_of, src).prop
        rest = rest[:filter_match.start()] + "\n" * filter_match.group(0).count("\n") + rest[filter_match.end():]
    condition = _parse_condition(rest, rest_start, src, has_locations=bool(loc_match) or filter_prop is not None)
    attrs, devices = _parse_extension(extension, len(threads), src)
    test = LitmusTest(name=name, arch="AArch64", doc=" ".join(doc_lines), init_regs=init_regs, init_mem=init_mem,
                      threads=threads, condition=condition, locations=locations, attrs=attrs,
                      devices=devices, source=source, arrays=arrays, reg_types=reg_types,
                      notes=(*ignored, *notes), variants=frozenset(variants), filter=filter_prop)
    _check_test(test, src)
    return test


def _skip_blank(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _braced(lines: list[str], index: int, src: _Source) -> tuple[str, int]:
    text = "\n".join(lines[index:])
    start = text.index("{")
    depth = 0
    for offset in range(start, len(text)):
        if text[offset] == "{":
            depth += 1
        elif text[offset] == "}":
            depth -= 1
            if depth == 0:
                consumed = text[:offset + 1].count("\n")
                return text[start + 1:offset], index + consumed + 1
    raise src.error(index + 1, "unterminated initial state", "a closing '}'")


_ARRAY = re.compile(r"^(?:(?P<type>[A-Za-z_]\w*)\s+)?(?P<name>[A-Za-z_]\w*)\s*\[(?P<n>\d{1,4})\]\s*(?:=\s*(?P<init>.*))?$", re.S)
_CELL = re.compile(r"^(?P<name>[A-Za-z_]\w*)\[(?P<index>\d{1,4})\]$")


def _parse_init(text: str, first_line: int, src: _Source
                ) -> tuple[dict[tuple[int, str], int | str], dict[str, int], dict[str, tuple[int, int]],
                           dict[tuple[int | None, str], CType], tuple[str, ...]]:
    regs: dict[tuple[int, str], int | str] = {}
    types: dict[tuple[int | None, str], CType] = {}  # (thread, register) and (None, location): declared types
    notes: list[str] = []
    mem: dict[str, int] = {}
    arrays: dict[str, tuple[int, int]] = {}
    cell_addresses: dict[tuple[int, str], tuple[str, int, int]] = {}  # register -> (array, index, line)
    line = first_line
    for chunk in re.split(r"(;|\n)", text):
        if chunk == "\n":
            line += 1
            continue
        item = _THREAD_SPACE.sub(r"\1:", chunk.strip())  # "0: X1 = 2" as herd7 reads it
        if not item or item == ";":
            continue
        array = _ARRAY.match(item)
        if array and ":" not in item:
            # "int64_t v[2] = {1, 2}" or "int x[2]": one cell per element, named "v[0]", "v[1]"...
            type_name, name, count = array.group("type"), array.group("name"), int(array.group("n"))
            if type_name is None or (type_name not in _TYPES and type_name not in _ELEMENT_BYTES):
                raise src.error(line, f"unsupported array entry {item[:40]!r}", "'TYPE name[N]' or 'TYPE name[N] = {v, ...}'")
            declared = _TYPES.get(type_name) or _unsized(type_name, element=True)
            size = declared[0] // 8
            values = [0] * count
            if array.group("init") is not None:
                body = array.group("init").strip()
                if not (body.startswith("{") and body.endswith("}")):
                    raise src.error(line, f"bad array initialiser {body[:40]!r}", "'{v0, v1, ...}'")
                items = [part.strip() for part in body[1:-1].split(",") if part.strip()]
                if len(items) > count:
                    raise src.error(line, f"{len(items)} values for {count} elements of {name}", f"at most {count}")
                for index, part in enumerate(items):
                    values[index] = _number(part, line, src, "an integer")
            arrays[name] = (size, count)
            for index, value in enumerate(values):
                mem[f"{name}[{index}]"] = _typed(value, declared)  # type: ignore[assignment]
                types[(None, f"{name}[{index}]")] = declared
            continue
        left, right = (part.strip() for part in item.split("=", 1)) if "=" in item else (item, "0")
        cell = _CELL.match(right)
        if cell and ":" in left:  # "0:X0=x[1]": the address of an element
            thread_text, reg_text = left.split()[-1].split(":", 1)
            reg = _reg(reg_text, line, src)
            cell_addresses[(_thread(thread_text, line, src), reg.name)] = (cell.group("name"), int(cell.group("index")), line)
            continue
        words = left.split()
        declared = _TYPES.get(words[0]) if len(words) == 2 else None  # "uint8_t x", "int64_t 0:X2"
        if len(words) == 2 and words[0] == "pteval_t":  # a translation table descriptor: 64 bits
            declared = (64, False)
        if len(words) == 2 and words[0] == "ins_t":  # an instruction (herd7's ins_t): compared as an instruction
            declared = (64, False)
        if len(words) == 2 and declared is None and words[0] not in _UNSIZED and re.fullmatch(r"[a-z]\w*_t", words[0]):
            notes.append(f"{src.name}:{line}: unknown type {words[0]!r} read as an unsized int, as herd7 does "
                         f"(known: {', '.join(sorted(_TYPES))})")
        elif len(words) == 2 and declared is None and words[0] not in _UNSIZED:
            raise src.error(line, f"bad initial-state entry {item[:40]!r}",
                            f"'T:Xn=value', 'x=value' or 'TYPE x' with TYPE one of {', '.join(sorted(_TYPES))}")
        if len(words) > 2 or not words:
            raise src.error(line, f"bad initial-state entry {item[:40]!r}", "'T:Xn=value', 'x=value' or 'int x'")
        left = words[-1]
        if left.startswith("*") and ":" in left:  # "int64_t *0:X2=t": a register holding a pointer (64 bits)
            left, declared, words = left[1:], (64, False), ["uint64_t", left[1:]]
        if ":" in left:
            thread_text, reg_text = left.split(":", 1)
            if not _ascii_digits(thread_text):
                raise src.error(line, f"bad thread number in {left!r}", "'T:Xn' with T a number")
            reg = _system_register(reg_text) or _reg(reg_text, line, src)
            value = _value(right, line, src)
            regs[(_thread(thread_text, line, src), reg.name)] = _typed(value, declared)
            if len(words) == 2:  # a declared type: "uint64_t 0:X0", "int 0:X1"
                types[(_thread(thread_text, line, src), reg.name)] = declared or _unsized(words[0])
        else:
            location = left.strip("[]")
            pointer = location.startswith("*") and len(words) == 2  # "int *p = &x": p holds x's address
            if pointer:
                location, declared = location[1:], (64, False)
            pte = _PTE.match(location)
            if pte:
                location = pte_location(pte.group(1))
            elif not _IDENT.match(location):
                raise src.error(line, f"bad location name {left!r}", "an identifier")
            value = _value(right.removeprefix("&") if pointer else right, line, src)
            if isinstance(value, str) and not pointer:
                raise src.error(line, f"location {location} initialised with a location",
                                "an integer, or a pointer declaration such as 'int *p = &x'")
            if "=" in item or location not in mem:
                mem[location] = _typed(value, declared)  # type: ignore[assignment]
            if len(words) == 2:  # "uint8_t x": compared at its width; an undeclared location is an int
                types[(None, location)] = declared or _unsized(words[0])
            if isinstance(value, str) and value not in mem and value.split("+")[0] not in arrays:
                mem.setdefault(value, 0)  # the location a pointer points to exists
    # Every entry a test names maps its location, validly by default, as herd7's initial page tables do.
    for value in [*regs.values(), *list(mem)]:
        pte = _PTE.match(value) if isinstance(value, str) else None
        if pte:
            mem.setdefault(value, descriptor(pte.group(1)))
            mem.setdefault(pte.group(1), 0)
    for key, (name, index, at) in cell_addresses.items():
        if name not in arrays or index >= arrays[name][1]:
            raise src.error(at, f"{name}[{index}] is not an element of a declared array", "TYPE name[N] before")
        regs[key] = f"{name}+{index * arrays[name][0]}" if index else name
    return regs, mem, arrays, types, tuple(notes)


# herd7's C-like types of initial values: a typed value is reduced to its width (two's complement for
# the signed ones), e.g. "int8_t 0:X0 = 256" holds 0.  Plain "int" and friends are left as written.
_TYPES: dict[str, CType] = {f"{sign}int{bits}_t": (bits, sign == "") for bits in (8, 16, 32, 64) for sign in ("", "u")}
_UNSIZED = {"int", "long", "char", "intptr_t", "uintptr_t"}
_ELEMENT_BYTES = {"int": 4, "long": 8, "char": 1, "intptr_t": 8, "uintptr_t": 8}


def _unsized(type_name: str, element: bool = False) -> CType:
    """A type without a size in its name: an array's element has its C size; a scalar is 32 bits for int
    (herd7's default type) and 64 for the others, and for a type herd7 does not know.  Signed but uintptr_t."""
    bits = _ELEMENT_BYTES[type_name] * 8 if element else (32 if type_name == "int" else 64)
    return bits, type_name != "uintptr_t"


_MASK64 = (1 << 64) - 1
_THREAD_SPACE = re.compile(r"(?<![\w:])(\d+)\s*:\s*(?=[A-Za-z])")


def _typed(value: int | str, declared: CType | None) -> int | str:
    """An initial value as the 64-bit pattern a register or location holds: reduced to its declared
    width and, for a signed type, sign-extended (two's complement)."""
    if isinstance(value, str):
        return value
    return (as_type(value, declared) if declared is not None else value) & _MASK64


def _value(text: str, line: int, src: _Source) -> int | str:
    text = text.strip().replace("\x01", " ")
    if _IDENT.match(text):
        return text
    code = re.fullmatch(r'label:"P?(\d+):(\.?[A-Za-z_]\w*)"', text) or re.fullmatch(r"P(\d+):(\.?[A-Za-z_]\w*)", text)
    if code:  # herd7's code address, label:"P0:L0" (P0:L0 in an initial state)
        return code_address(int(code.group(1)), code.group(2))
    ins = re.fullmatch(r'instr:"([^"]*)"', text)
    if ins or text.upper() == "NOP":  # herd7's instruction value, instr:"B .+8" (NOP alone)
        return _instruction_text(ins.group(1) if ins else "NOP")
    pte = _PTE.match(text)
    if pte:  # the address of x's translation table entry, herd7's PTE(x)
        return pte_location(pte.group(1))
    if text.startswith("(") and text.endswith(")"):
        return _descriptor(text, line, src)
    return _number(text, line, src, "an integer or a location name")


# herd7's VMSA syntax: PTE(x) is the address of the (last-level) translation table entry that maps x, and a
# descriptor value is written "(oa:PA(x), valid:0)".  memattr keeps a descriptor as a 64-bit stage-1
# descriptor (DDI0487 D8.3): valid bit 0, AF bit 10, the output address's page number from bit 12 (a
# stable number per location), AP[1] (el0) bit 6, AP[2] (db: not dirty, read-only) bit 7, DBM bit 51.
_PTE = re.compile(r"^PTE\(\s*([A-Za-z_]\w*)\s*\)$")
_DESCRIPTOR_BITS = {"valid": 0, "el0": 6, "db": 7, "af": 10, "dbm": 51}
_DESCRIPTOR_DEFAULTS = {"valid": 1, "af": 1, "db": 1, "el0": 1, "dbm": 0}


def _instruction_text(text: str) -> str:
    """An instruction as a value: its text with the mnemonic upper-cased and spaces only after it."""
    words = text.strip().split(None, 1)
    rest = re.sub(r"\s+", "", words[1]) if len(words) > 1 else ""
    return f'instr:"{words[0].upper()}{" " + rest if rest else ""}"'


def instruction_value(instr: Instr | None, index: int, labels: dict[str, int]) -> str:
    """The value of the instruction at ``index`` of a thread's code (past the end: none there), with branch
    and ADR targets written relative to it (".+8"), as herd7 compares instruction values."""
    if instr is None or not instr.text or instr.text == "(end)":
        return _instruction_text("NOP") if instr is not None else 'instr:"(none)"'
    words = instr.text.strip().split(None, 1)
    operands = _split_operands(words[1]) if len(words) > 1 else []
    if operands and operands[-1] in labels and (instr.op in ("B", "BL", "CBZ", "CBNZ", "TBZ", "TBNZ", "ADR")
                                                 or instr.op.startswith("B.")):
        offset = 4 * (labels[operands[-1]] - index)
        operands[-1] = f".{offset:+d}"
    return _instruction_text(" ".join([words[0], ",".join(operands)]))


def code_address(thread: int, label: str) -> str:
    """A code address value (ADR, BL's return address), printed as herd7 prints it."""
    return f'label:"P{thread}:{label}"'


def parse_code_address(value: object) -> tuple[int, str] | None:
    """The (thread, label) a value made by :func:`code_address` names; None for any other value."""
    code = re.fullmatch(r'label:"P(\d+):(.+)"', value) if isinstance(value, str) else None
    return (int(code.group(1)), code.group(2)) if code else None


def pte_location(name: str) -> str:
    return f"PTE({name})"


def descriptor(oa: str, **fields: int) -> int:
    """The descriptor herd7 writes ``(oa:PA(oa), field:value, ...)``; unnamed fields take herd7's defaults."""
    value = (zlib.crc32(oa.encode()) & 0xFFFFF) + 1 << 12
    for name, bit in _DESCRIPTOR_BITS.items():
        if fields.get(name, _DESCRIPTOR_DEFAULTS[name]):
            value |= 1 << bit
    return value


def descriptor_valid(value: int) -> bool:
    return bool(value & 1)


def _descriptor(text: str, line: int, src: _Source) -> int:
    fields: dict[str, int] = {}
    oa = None
    for part in (p.strip() for p in text[1:-1].split(",")):
        name, _, value = (x.strip() for x in part.partition(":"))
        if name == "oa":
            match = re.fullmatch(r"PA\(\s*([A-Za-z_]\w*)\s*\)", value)
            if not match:
                raise src.error(line, f"bad output address {value[:30]!r}", "oa:PA(x)")
            oa = match.group(1)
        elif name in _DESCRIPTOR_BITS and value in ("0", "1"):
            fields[name] = int(value)
        else:
            raise src.error(line, f"bad descriptor field {part[:30]!r}",
                            "oa:PA(x) and " + ", ".join(f"{f}:0|1" for f in _DESCRIPTOR_BITS))
    if oa is None:
        raise src.error(line, f"descriptor {text[:40]!r} without an output address", "oa:PA(x)")
    return descriptor(oa, **fields)


def _number(text: str, line: int, src: _Source, what: str, bad: str = "bad value") -> int:
    """A (possibly negative) integer in any of Python's bases, with a clear error for absurd lengths."""
    if not re.fullmatch(r"[-+]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9_]+)", text):
        raise src.error(line, f"{bad} {text[:40]!r}", what)
    if len(text) > 42:
        raise src.error(line, f"number of {len(text)} characters", f"{what} of at most 40 digits")
    try:
        return int(text, 0)
    except ValueError:
        raise src.error(line, f"{bad} {text[:40]!r}", what) from None


def _thread(text: str, line: int, src: _Source) -> int:
    if not _ascii_digits(text) or len(text) > 4:
        raise src.error(line, f"bad thread number {text[:40]!r}", "a thread number such as 0 or 1")
    return int(text)


def _system_register(text: str) -> Reg | None:
    """A System register the tests may name (FEAT_NV2's, Table D8-120): a 64-bit register of that name."""
    name = text.strip().upper()
    return Reg(name, 64) if name in SYSTEM_REGISTERS else None


def _reg(text: str, line: int, src: _Source) -> Reg:
    match = _REG.match(text.strip())
    if not match:
        raise src.error(line, f"bad register {text.strip()!r}", "Xn or Wn with n from 0 to 30, or XZR/WZR")
    if match.group("sp"):  # the stack pointer: an ordinary register here (its alignment checks are not modelled)
        return Reg("SP", 32 if match.group("sp").upper() == "WSP" else 64)
    num = match.group("num").upper()
    if num != "ZR" and (len(num) > 2 or int(num) > 30):
        raise src.error(line, f"register {text.strip()} does not exist", "n from 0 to 30")
    return Reg("X" + num, 64 if match.group("kind").upper() == "X" else 32)


def _parse_threads(lines: list[str], index: int, src: _Source) -> tuple[tuple[tuple[Instr, ...], ...], int]:
    header = lines[index].strip().rstrip(";")
    names = [cell.strip() for cell in header.split("|")]
    for n, cell in enumerate(names):
        if cell != f"P{n}":
            raise src.error(index + 1, f"thread header cell {cell!r}", f"P{n}")
    columns: list[list[Instr]] = [[] for _ in names]
    pending_labels: list[str | None] = [None] * len(names)
    index += 1
    while index < len(lines):
        raw = lines[index]
        line = raw.strip()
        if not line:
            index += 1
            continue
        if ("|" not in line and not line.endswith(";")) or re.match(r"(exists|~\s*exists|forall|locations|filter)\b", line):
            break  # the condition (or locations) starts here, possibly ending with ';' itself
        if not line.endswith(";"):
            raise src.error(index + 1, "thread row does not end with ';'", "'cell | cell ;'")
        cells = [cell.strip() for cell in line[:-1].split("|")]
        if len(cells) != len(names):
            raise src.error(index + 1, f"{len(cells)} cells in a row of a {len(names)}-thread test",
                            f"{len(names)} cells separated by '|'")
        for n, cell in enumerate(cells):
            while cell:
                match = _LABEL.match(cell)
                if match and not cell.upper().startswith(("B.", "CBZ", "CBNZ")) and ":" in cell.split()[0]:
                    if pending_labels[n] is not None:  # two labels in a row: the first marks an empty NOP
                        columns[n].append(Instr("NOP", (), index + 1, label=pending_labels[n],
                                                text=f"{pending_labels[n]}:"))
                    pending_labels[n] = match.group("label")
                    cell = match.group("rest").strip()
                    continue
                columns[n].append(_parse_instr(cell, index + 1, pending_labels[n], src))
                pending_labels[n] = None
                break
        index += 1
    for n, label in enumerate(pending_labels):
        if label is not None:
            columns[n].append(Instr("NOP", (), index, label=label, text=f"{label}:"))
    for column in columns:
        _resolve_relative(column, src)
        _return_labels(column)
    return tuple(tuple(column) for column in columns), index


def _return_labels(column: list[Instr]) -> None:
    """BL and BLR return to the next instruction: label it (a NOP past the end) and give the label to them."""
    for position in range(len(column)):
        instr = column[position]  # as labelled so far (a BL may label the next BL)
        if instr.op not in ("BL", "BLR"):
            continue
        column[position] = replace(instr, args=(*instr.args, _label_at(column, position + 1, instr.line)))


def _resolve_relative(column: list[Instr], src: _Source) -> None:
    """Branches to ".+8"/".-4" (bytes from the branch; 4 per instruction) become branches to a label put on
    the target instruction (a NOP past the end when the target is the end)."""
    for position in range(len(column)):
        instr = column[position]
        if not instr.args or not isinstance(instr.args[-1], str):
            continue
        relative = _RELATIVE.match(instr.args[-1])
        if not relative:
            continue
        offset = int(relative.group(2)) * (1 if relative.group(1) == "+" else -1)
        target = position + offset // 4
        if offset % 4 or not 0 <= target <= len(column):
            raise src.error(instr.line, f"branch target {instr.args[-1]} is outside the thread",
                            "a multiple of 4 bytes within the thread's code")
        column[position] = replace(instr, args=(*instr.args[:-1], _label_at(column, target, instr.line)))


def _label_at(column: list[Instr], target: int, line: int) -> str:
    """The label of the instruction at ``target``, giving it one (".N") if it has none; a target just past the
    end is a NOP put there."""
    if target == len(column):
        column.append(Instr("NOP", (), line, text="(end)"))
    if column[target].label is None:
        column[target] = replace(column[target], label=f".{target}")
    return column[target].label  # type: ignore[return-value]


def _split_operands(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _parse_instr(text: str, line: int, label: str | None, src: _Source) -> Instr:
    words = text.split(None, 1)
    op = words[0].upper()
    operands = _split_operands(words[1]) if len(words) > 1 else []
    if op not in SUPPORTED:
        raise src.error(line, f"unsupported instruction {words[0]!r}",
                        "loads and stores (LDR/STR and their B/H, signed, acquire/release, exclusive, pair and "
                        "unscaled forms), CAS/SWP/LD<op>/ST<op> atomics, MOV and MOVZ/MOVN/MOVK, data processing "
                        "(ADD/SUB/logical and their S forms, shifts, bitfield moves and extends, multiplies, REV/RBIT/"
                        "CLZ, NEG/MVN/ABS, CMP/CMN/TST, conditional selects), CBZ/CBNZ, TBZ/TBNZ, B, B.cond, DMB, "
                        "DSB, ISB, TLBI (docs/litmus.md lists what is not supported)")
    args: list[object] = []
    if op in ("DMB", "DSB"):
        if len(operands) != 1 or operands[0].upper() not in BARRIER_OPTIONS:
            raise src.error(line, f"bad barrier option in {text!r}", f"one of {', '.join(sorted(BARRIER_OPTIONS))}")
        args = [operands[0].upper()]
    elif op == "TLBI":
        if not operands or operands[0].upper() not in TLBI_OPS:
            raise src.error(line, f"unsupported TLBI operation in {text!r}", f"one of {', '.join(sorted(TLBI_OPS))}")
        args = [operands[0].upper()] + [_operand(o, line, src) for o in operands[1:]]
    elif op in ("B", "CBZ", "CBNZ", "TBZ", "TBNZ") or op.startswith("B."):
        target = operands[-1] if operands else ""
        if not _IDENT.match(target.lstrip(".")) and not _RELATIVE.match(target):
            raise src.error(line, f"bad branch target in {text!r}", "a label or .+N/.-N (bytes)")
        args = [_operand(o, line, src) for o in operands[:-1]] + [target]
        if op in ("TBZ", "TBNZ") and (len(args) != 3 or not isinstance(args[0], Reg) or not isinstance(args[1], Imm)
                                      or not 0 <= args[1].value < args[0].width):
            raise src.error(line, f"bad {op} {text!r}", f"{op} Rt,#bit,LABEL with bit below the register's width")
    elif op in CONDITIONAL_SELECTS:
        if len(operands) != 4 or operands[3].upper() not in CONDITIONS:
            raise src.error(line, f"bad {op} {text!r}", f"{op} Rd,Rn,Rm,COND")
        args = [_operand(o, line, src) for o in operands[:3]] + [operands[3].upper()]
        if not all(isinstance(a, Reg) for a in args[:3]):
            raise src.error(line, f"bad {op} {text!r}", f"{op} Rd,Rn,Rm,COND with registers")
    elif op in ("ADR", "BL", "BLR", "BR", "RET"):
        # Code addresses (within the thread): ADR Xd,LABEL; BL LABEL and BLR Xn write the return address to
        # X30 (the parser labels the next instruction and appends that label); RET [Xn] branches to X30 or Xn.
        if op == "ADR" and (len(operands) != 2 or not _IDENT.match(operands[1].lstrip("."))):
            raise src.error(line, f"bad {op} {text!r}", "ADR Xd,LABEL")
        if op == "BL" and (len(operands) != 1 or not _IDENT.match(operands[0].lstrip("."))):
            raise src.error(line, f"bad {op} {text!r}", "BL LABEL")
        if op in ("BLR", "BR", "RET") and len(operands) != (op != "RET") and not (op == "RET" and len(operands) == 1):
            raise src.error(line, f"bad {op} {text!r}", f"{op} Xn" if op != "RET" else "RET or RET Xn")
        if op == "ADR":
            args = [_operand(operands[0], line, src), operands[1]]
        elif op == "BL":
            args = [operands[0]]
        else:
            args = [_operand(operands[0], line, src)] if operands else [Reg("X30", 64)]
        if op != "BL" and not isinstance(args[0], Reg):
            raise src.error(line, f"bad {op} {text!r}", "an X register")
    elif op in ("MRS", "MSR"):
        # The condition flags (MRS Xt,NZCV), and the System registers FEAT_NV2 can turn into memory accesses
        # (DDI0487 M.a.a Table D8-120; see memattr.arch.nv2), held as 64-bit registers of their own.
        names = [o.strip().upper() for o in operands]
        if len(names) != 2 or (names[op == "MRS"] != "NZCV" and _system_register(names[op == "MRS"]) is None):
            raise src.error(line, f"unsupported system register access {text!r}",
                            f"{op} with NZCV or a register of Table D8-120 (VNCR_EL2, ELR_EL1, ESR_EL1...)")
        sysreg = names[op == "MRS"]
        args = ([_operand(operands[0], line, src), sysreg] if op == "MRS"
                else [sysreg, _operand(operands[1], line, src)])
        if not isinstance(args[0 if op == "MRS" else 1], Reg):
            raise src.error(line, f"bad {op} {text!r}", f"{op} with an X register")
    elif op in ("CSET", "CSETM"):
        if len(operands) != 2 or operands[1].upper() not in CONDITIONS:
            raise src.error(line, f"bad {op} {text!r}", f"{op} Rd,COND")
        args = [_operand(operands[0], line, src), operands[1].upper()]
        if not isinstance(args[0], Reg):
            raise src.error(line, f"bad {op} {text!r}", f"{op} Rd,COND")
    else:
        args = [_operand(o, line, src) for o in operands]
        if (op in LOADS or op in STORES or op in PAIRS) and len(args) >= 3 and isinstance(args[-2], Mem) \
                and isinstance(args[-1], Imm) and args[-2].offset is None and not args[-2].pre:
            args = [*args[:-2], Mem(args[-2].base, post=args[-1])]  # post-index: [Xn],#imm
    _check_shape(op, args, text, line, src)
    return Instr(op, tuple(args), line, label=label, text=text)  # type: ignore[arg-type]


def _operand(text: str, line: int, src: _Source) -> object:
    text = text.strip()
    shift = re.fullmatch(r"(LSL|LSR|ASR|ROR)\s*#?\s*(\d{1,2})", text, re.I)
    if shift:
        return Shift(shift.group(1).upper(), int(shift.group(2)))
    extend = re.fullmatch(r"([SU]XT[BHWX])(?:\s*#?\s*(\d))?", text, re.I)  # extended register: ADD X3,X0,W2,SXTW
    if extend:
        return Shift(extend.group(1).upper(), int(extend.group(2) or 0))
    if text.startswith("#"):
        return Imm(_number(text[1:].strip(), line, src, "#number", "bad immediate"))
    if re.fullmatch(r"[-+]?(0[xX][0-9a-fA-F]+|\d+)", text):  # herd7 also takes an immediate without '#'
        return Imm(_number(text, line, src, "a number", "bad immediate"))
    if text.startswith("[") and text.endswith("]!"):  # pre-index
        inner = _operand(text[:-1], line, src)
        if not isinstance(inner, Mem) or not isinstance(inner.offset, Imm):
            raise src.error(line, f"bad pre-index operand {text!r}", "[Xn,#imm]!")
        return Mem(inner.base, inner.offset, pre=True)
    if text.startswith("["):
        if not text.endswith("]"):
            raise src.error(line, f"bad memory operand {text!r}", "[Xn], [Xn,#imm] or [Xn,Xm]")
        inner = [part.strip() for part in text[1:-1].split(",")]
        base = _reg(inner[0], line, src)
        offset: Reg | Imm | None = None
        if len(inner) >= 2:
            offset = _operand(inner[1], line, src)  # type: ignore[assignment]
            if not isinstance(offset, (Reg, Imm)):
                raise src.error(line, f"bad offset in {text!r}", "#imm or a register")
        scale: Shift | None = None
        if len(inner) == 3:
            extension = _operand(inner[2], line, src)
            if not isinstance(extension, Shift) or extension.kind not in ("LSL", "SXTW", "UXTW", "SXTX", "UXTX") \
                    or extension.amount > 3:
                raise src.error(line, f"unsupported extension {inner[2]!r}", "SXTW, UXTW or LSL #0..3")
            scale = extension
        if len(inner) > 3:
            raise src.error(line, f"bad memory operand {text!r}", "[Xn], [Xn,#imm] or [Xn,Xm]")
        return Mem(base, offset, scale=scale)
    return _reg(text, line, src)


_SHAPES: dict[str, tuple[tuple[object, ...], ...]] = {
    "load": ((Reg, Mem),), "store": ((Reg, Mem),), "stxr": ((Reg, Reg, Mem),), "amo": ((Reg, Reg, Mem),),
    "st_amo": ((Reg, Mem),),
    "alu": ((Reg, Reg, (Reg, Imm)), (Reg, Reg, (Reg, Imm), Shift)),  # Rd,Rn,Rm|#imm[,SHIFT #n]
    "mov": ((Reg, (Reg, Imm)),), "cmp": ((Reg, (Reg, Imm)), (Reg, Reg, Shift)),
    "unary": ((Reg, Reg), (Reg, Reg, Shift)), "wide": ((Reg, Imm), (Reg, Imm, Shift)),
    "ubfm": ((Reg, Reg, Imm, Imm),), "pair": ((Reg, Reg, Mem),),
    "madd": ((Reg, Reg, Reg, Reg),), "mul3": ((Reg, Reg, Reg),), "bits": ((Reg, Reg),),
    "casp": ((Reg, Reg, Reg, Reg, Mem),), "ldxp": ((Reg, Reg, Mem),), "stxp": ((Reg, Reg, Reg, Mem),),
}
_SHAPE_TEXT = {"load": "OP Rt,[Xn...]", "store": "OP Rt,[Xn...]", "stxr": "OP Ws,Rt,[Xn]", "amo": "OP Rs,Rt,[Xn]",
               "st_amo": "OP Rs,[Xn]", "alu": "OP Rd,Rn,Rm|#imm or OP Rd,Rn,Rm,LSL|LSR|ASR #n",
               "mov": "MOV Rd,Rn|#imm", "cmp": "OP Rn,Rm|#imm or OP Rn,Rm,LSL|LSR|ASR #n",
               "unary": "OP Rd,Rm[,LSL|LSR|ASR #n]", "wide": "OP Rd,#imm16[,LSL #0|16|32|48]",
               "ubfm": "UBFM Rd,Rn,#immr,#imms", "pair": "LDP|STP Rt1,Rt2,[Xn{,#imm}]{!} or [Xn],#imm",
               "madd": "OP Rd,Rn,Rm,Ra", "mul3": "OP Rd,Rn,Rm", "bits": "OP Rd,Rn",
               "casp": "CASP Rs,Rs+1,Rt,Rt+1,[Xn]", "ldxp": "OP Rt1,Rt2,[Xn]", "stxp": "OP Ws,Rt1,Rt2,[Xn]"}


def _kind(op: str) -> str | None:
    if op in LOADS:
        return "load"
    if op in STORES:
        return "store"
    if op in STORE_EXCL:
        return "stxr"
    if op in AMOS:
        return "amo"
    if op in STADDS:
        return "st_amo"
    if op in ALU or op in MORE_ALU or op in FLAG_ALU or op in SHIFTS:
        return "alu"
    if op == "MOV":
        return "mov"
    if op in ("CMP", "CMN", "TST"):
        return "cmp"
    if op in ("NEG", "MVN", "ABS"):
        return "unary"
    if op in WIDE_MOVES:
        return "wide"
    if op in ("UBFM", "SBFM"):
        return "ubfm"
    if op in PAIRS:
        return "pair"
    if op in CASPS:
        return "casp"
    if op in LOAD_EXCL_PAIRS:
        return "ldxp"
    if op in STORE_EXCL_PAIRS:
        return "stxp"
    if op in ("MADD", "MSUB", "SMADDL", "UMADDL", "SMSUBL", "UMSUBL"):
        return "madd"
    if op in ("MNEG", "SMULL", "UMULL", "SMNEGL", "UMNEGL"):
        return "mul3"
    if op in BIT_OPS or op in EXTENDS:
        return "bits"
    return None


def _check_shape(op: str, args: list[object], text: str, line: int, src: _Source) -> None:
    kind = _kind(op)
    if kind is None:
        return
    if not any(len(args) == len(shape) and all(isinstance(a, s) for a, s in zip(args, shape))  # type: ignore[arg-type]
               for shape in _SHAPES[kind]):
        raise src.error(line, f"bad operands in {text!r}", _SHAPE_TEXT[kind])
    if (op in LOADS or op in STORES or op in STORE_EXCL or op in AMOS or op in STADDS) and op.endswith(("B", "H")) \
            and not op.startswith("LDRS"):
        # Byte and halfword accesses name W registers only (LDRSB/LDRSH may sign-extend into an X register).
        data = [a for a in args if isinstance(a, Reg)][1 if op in STORE_EXCL else 0:]
        if any(reg.width != 32 and reg.name != "XZR" for reg in data[:2 if op in AMOS else 1]):
            raise src.error(line, f"bad register size in {text!r}", f"{op} with W registers")
    shift = next((a for a in args if isinstance(a, Shift)), None)
    if shift is not None and shift.kind == "ROR" and (kind != "alu" or op in ("ADD", "SUB", "ADDS", "SUBS")):
        raise src.error(line, f"bad shift in {text!r}", "ROR on the logical instructions (AND, ORR, EOR, BIC...)")
    if shift is not None and shift.kind not in ("LSL", "LSR", "ASR", "ROR") and (kind != "alu" or shift.amount > 4):
        raise src.error(line, f"bad extension in {text!r}", "OP Rd,Rn,Rm,SXTW|UXTW|... [#0-4] on ADD/SUB forms")
    if shift is not None and (shift.amount >= next(a for a in args if isinstance(a, Reg)).width
                              or (kind == "wide" and (shift.kind != "LSL" or shift.amount % 16))):
        raise src.error(line, f"bad shift in {text!r}", "a shift below the register width (MOVZ/MOVK: LSL #0, 16, 32, 48)")


def _parse_condition(text: str, first_line: int, src: _Source, has_locations: bool = False) -> Condition:
    body = text.strip().removesuffix(";").rstrip()  # herd7 accepts a final ';
    line = first_line + text[:len(text) - len(text.lstrip())].count("\n") + 1
    if not body:
        if has_locations:  # herd7 runs a test that only lists "locations [...]" as "forall (true)"
            return Condition("forall", Const(True))
        raise src.error(line, "missing final condition", "exists, ~exists or forall")
    match = re.match(r"^(exists|~\s*exists|forall)\b(.*)$", body, re.S)
    if not match:
        word = body.split()[0]
        raise src.error(line, f"unexpected {word[:30]!r} where the condition starts", "exists, ~exists or forall")
    quantifier = re.sub(r"\s", "", match.group(1))
    # herd7 reads "0: X3 = 0" as "0:X3=0".
    rest = _FAULT.sub(lambda m: f" {m.group(1)}:fault@{m.group(3)}@{m.group(2) or ''} ", match.group(2))
    rest = re.sub(r"\bnot\b", "~", rest)  # herd7's "not (...)"
    # An instruction value's spaces would split it: hide them until the value is read (_value).
    rest = re.sub(r'instr:"[^"]*"', lambda m: m.group(0).replace(" ", "\x01"), rest)
    rest = _ARRAY_ATOM.sub(lambda m: f"{m.group(1)}={{{','.join(v.strip() for v in m.group(2).split(','))}}}", rest)
    rest = _PTE_ATOM.sub(lambda m: f" PTE@{m.group(1)}={_descriptor(m.group(2), line, src)} ", rest)
    # (?<!\s): a match starts only where a run of spaces starts, so a long run is scanned once, not once per
    # position (the hostile-input campaign found a quadratic case).
    tokens = _tokens(re.sub(r"(?<!\s)\s*+=(?!>)\s*+", "=", _THREAD_SPACE.sub(r"\1:", rest)), line, src)
    position = [0]
    prop = _prop_implies(tokens, position, line, src)
    if position[0] != len(tokens):
        raise src.error(line, f"unexpected {tokens[position[0]]!r} in the condition", "/\\, \\/ or the end")
    return Condition(quantifier, prop)


# "t={2,1}": a whole array (one atom, its values compared element by element).
_ARRAY_ATOM = re.compile(r"\b([A-Za-z_]\w*+)\s*+=\s*+\{([^{}]*)\}")  # possessive: no backtracking on long words
# herd7's fault(P0,x) / fault(P0:L0,x): thread 0's access to x took a translation fault.
_FAULT = re.compile(r"\b[Ff]ault\(\s*P(\d+)(?::(\w+))?\s*,\s*([A-Za-z_]\w*)\s*(?:,[^()]*)?\)")
_PTE_ATOM = re.compile(r"\[\s*PTE\(\s*([A-Za-z_]\w*)\s*\)\s*\]\s*=\s*(\([^()]*(?:\([^()]*\)[^()]*)*\))")


def fault_name(location: str) -> str:
    """The final-state name of "this thread's access to ``location`` faulted" (1 when it did)."""
    return f"fault({location})"


def _tokens(text: str, line: int, src: _Source) -> list[str]:
    tokens = re.findall(r"/\\|\\/|=>|~|\(|\)|true|false|[^\s()~/\\=]+(?:=[^\s()~/\\>][^\s()~/\\]*)?", text)
    joined = "".join(tokens)
    if len(joined) != len(re.sub(r"\s", "", text)):
        raise src.error(line, "unrecognised characters in the condition", "atoms joined by /\\ and \\/")
    return tokens


def _prop_implies(tokens: list[str], pos: list[int], line: int, src: _Source) -> Prop:
    """herd7's "A => B" (binds loosest; right-associative): not A, or B."""
    left = _prop_or(tokens, pos, line, src)
    if pos[0] < len(tokens) and tokens[pos[0]] == "=>":
        pos[0] += 1
        return Implies(left, _prop_implies(tokens, pos, line, src))
    return left


def _prop_or(tokens: list[str], pos: list[int], line: int, src: _Source) -> Prop:
    return _prop_binary(tokens, pos, line, src, "\\/", Or, _prop_and)


def _prop_and(tokens: list[str], pos: list[int], line: int, src: _Source) -> Prop:
    return _prop_binary(tokens, pos, line, src, "/\\", And, _prop_unary)


def _prop_binary(tokens: list[str], pos: list[int], line: int, src: _Source, operator: str,
                 build: type, operand) -> Prop:  # type: ignore[no-untyped-def]
    """Left-associative ``operand (operator operand)*``; /\\ binds tighter than \\/."""
    left = operand(tokens, pos, line, src)
    while pos[0] < len(tokens) and tokens[pos[0]] == operator:
        pos[0] += 1
        left = build(left, operand(tokens, pos, line, src))
    return left


def _prop_unary(tokens: list[str], pos: list[int], line: int, src: _Source) -> Prop:
    if pos[0] >= len(tokens):
        raise src.error(line, "the condition ends too early", "an atom such as 1:X0=1")
    token = tokens[pos[0]]
    if token == "~":
        pos[0] += 1
        return Not(_prop_unary(tokens, pos, line, src))
    if token == "(":
        pos[0] += 1
        inner = _prop_implies(tokens, pos, line, src)
        if pos[0] >= len(tokens) or tokens[pos[0]] != ")":
            raise src.error(line, "unbalanced parenthesis in the condition", "')'")
        pos[0] += 1
        return inner
    if token in ("true", "false"):
        pos[0] += 1
        return Const(token == "true")
    pos[0] += 1
    return _parse_atom(token, line, src)


def _parse_atom(text: str, line: int, src: _Source) -> Prop:
    if "<>" in text:  # herd7's "0:X4<>0": not equal
        return Not(_parse_atom(text.replace("<>", "=", 1), line, src))
    fault = re.fullmatch(r"(\d+):fault@([A-Za-z_]\w*)@(\w*)", text)
    if fault:
        if fault.group(3):
            src.named_labels.append((int(fault.group(1)), fault.group(3), line))
        return Atom(_thread(fault.group(1), line, src), fault_name(fault.group(2)), 1, fault.group(3) or None)
    if "=" not in text:
        if ":" in text:  # "locations [1:X0;]"
            thread, reg = text.split(":", 1)
            if _ascii_digits(thread):
                return Atom(_thread(thread, line, src), _reg(reg, line, src).name, 0)
        if _CELL.match(text.strip()):
            return Atom(None, text.strip(), 0)
        if _IDENT.match(text.strip("[]")):
            return Atom(None, text.strip("[]"), 0)
        raise src.error(line, f"bad atom {text!r}", "T:Xn=value or location=value")
    left, right = text.split("=", 1)
    if right.startswith("{") and right.endswith("}") and ":" not in left:
        location = left.strip("[]")
        if not _IDENT.match(location):
            raise src.error(line, f"bad array in {text!r}", "an array name, as in t={1,2}")
        return Atom(None, location, tuple(_number(v, line, src, "an integer") & _MASK64 for v in right[1:-1].split(",")))
    value = _value(right, line, src)
    if isinstance(value, int):
        value &= _MASK64  # a register or location holds a 64-bit pattern: -1 is 0xffffffffffffffff
    if left.startswith("PTE@"):
        return Atom(None, pte_location(left[4:]), value)
    if ":" in left:
        thread, reg = left.split(":", 1)
        if not _ascii_digits(thread):
            raise src.error(line, f"bad thread in {text!r}", "T:Xn=value")
        return Atom(_thread(thread, line, src), _reg(reg, line, src).name, value)
    location = left if _CELL.match(left) else left.strip("[]")
    if not _IDENT.match(location) and not _CELL.match(location):
        raise src.error(line, f"bad location in {text!r}", "an identifier")
    return Atom(None, location, value)


def _parse_extension(text: str, threads: int, src: _Source) -> tuple[dict[str, LocationAttrs], frozenset[int]]:
    attrs: dict[str, LocationAttrs] = {}
    devices: set[int] = set()
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        device = re.match(r"^devices?\s+(.*)$", item)
        if device:
            for name in device.group(1).replace(",", " ").split():
                if not re.match(r"^P\d{1,4}$", name) or int(name[1:]) >= threads:
                    raise src.error(1, f"memattr: {name!r} is not a thread of this test", "P0, P1, ...")
                devices.add(int(name[1:]))
            continue
        match = re.match(r"^([A-Za-z_]\w*)\s*=\s*([A-Za-z0-9-]+)\s*(?:@\s*([A-Za-z_][\w-]*))?$", item)
        if not match:
            raise src.error(1, f"memattr: bad entry {item!r}", "'x = Normal-iNC-oNC @ bar0' or 'device P2'")
        location, memtype, peripheral = match.groups()
        try:
            canonical = parse_memory_type(memtype).short_name
        except ValueError:
            raise src.error(1, f"memattr: unknown memory type {memtype!r} for {location}",
                            ", ".join(CANONICAL_NAMES)) from None
        if canonical != "Normal-iWB-oWB" and peripheral is None:
            raise src.error(1, f"memattr: {location} is {canonical} but names no peripheral",
                            f"'{location} = {canonical} @ NAME'")
        attrs[location] = LocationAttrs(canonical, peripheral)
    return attrs, frozenset(devices)


def _check_test(test: LitmusTest, src: _Source) -> None:
    locations = set(test.memory_locations)
    # As herd7: the final condition may not name a location, or a label, the test does not have.
    atoms = [*test.locations, *atoms_of(test.condition.prop), *atoms_of(test.filter)]
    for atom in atoms:
        if atom.thread is None and atom.name not in locations and atom.name not in test.arrays:
            raise src.error(1, f"the condition names {atom.name!r}, not a location of this test",
                            ", ".join(sorted(locations)) or "a location of the initial state or the code")
        if isinstance(atom.value, tuple) and len(atom.value) != test.arrays.get(atom.name, (0, -1))[1]:
            raise src.error(1, f"the condition gives {atom.name} {len(atom.value)} values",
                            f"one value per element of the array {atom.name}" if atom.name in test.arrays
                            else f"an array: {atom.name} is a scalar location")
        if atom.thread is not None and atom.name.startswith("fault(") and atom.name[6:-1] not in locations \
                and atom.name[6:-1] not in ("UndefinedInstruction", "SupervisorCall"):
            raise src.error(1, f"{atom.name} names {atom.name[6:-1]!r}, not a location of this test",
                            "a location, UndefinedInstruction or SupervisorCall")
    # herd7: a code address, in the condition or the initial state, must name an existing label.
    for value in [*(atom.value for atom in atoms), *test.init_regs.values()]:
        code = parse_code_address(value)
        if code:
            src.named_labels.append((*code, 1))
    for thread, label, line in src.named_labels:
        if thread >= len(test.threads) or label not in {i.label for i in test.threads[thread] if i.label}:
            raise src.error(line, f"P{thread}:{label} (in the initial state or the condition) is not a label of P{thread}",
                            "a label of the thread")
    for name in test.attrs:
        if name not in locations:
            raise src.error(1, f"memattr: {name} is not a location of this test", ", ".join(sorted(locations)))
    for thread, instrs in enumerate(test.threads):
        labels = {i.label for i in instrs if i.label}
        for instr in instrs:
            if instr.op in ("UDF", "SVC") and "fatal" not in test.variants:
                raise src.error(instr.line, f"P{thread}: {instr.op} takes an exception, modelled only as fatal",
                                "'Variant=fatal' (the exception ends the thread; herd7's Fault(P,Kind))")
            if instr.op in ("B", "CBZ", "CBNZ", "TBZ", "TBNZ", "ADR", "BL") or instr.op.startswith("B."):
                target = instr.args[0] if instr.op == "BL" else instr.args[-1]
                if target not in labels:
                    raise src.error(instr.line, f"P{thread}: branch to unknown label {target!r}",
                                    "a label defined in the same thread")


def _ascii_digits(text: str) -> bool:
    # str.isdigit() accepts superscripts and other Unicode digits that int() rejects.
    return text.isascii() and text.isdigit()
