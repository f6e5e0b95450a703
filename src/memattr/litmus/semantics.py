"""Per-thread semantics: every control-flow path of a thread with its memory events and dependencies.

Reads take symbolic values from a per-location domain (computed to a fixpoint over all threads'
stores), so each path fixes the values its reads return.  Dependencies are computed from register
flow, as herd does: a register carries the set of read events its value was computed from.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

from memattr.arch.nv2 import OFFSET_IF_NV1_1
from memattr.errors import MemattrError
from memattr.litmus.limits import tick
from memattr.litmus.ast import Imm, Instr, LitmusTest, Mem, Reg, Shift
from memattr.litmus.parser import (AMOS, CASPS, DATA_PROCESSING, FLAG_ALU, LOAD_EXCL_PAIRS, LOADS, MULTIPLY, PAIRS,
                                   SHIFTS, STADDS, STORE_EXCL, STORE_EXCL_PAIRS, STORES, code_address, descriptor_valid,
                                   instruction_value, parse_code_address)

MAX_STEPS = 64  # instructions per path: a backstop for paths the unrolling bound does not end
# herd7's default unrolling bound (herd/opts.ml unroll_default: 2 but for ASL): a path may jump back to
# one target at most this many times; a further backward jump cuts the path.
UNROLL = 2


class BadAddress(MemattrError):
    """An access whose base register holds a number, not a location.  It ends the path; the test fails with
    it only if an execution the model allows takes that path (herd's A260: an access the model avoids)."""


@dataclass(frozen=True, slots=True)
class Event:
    eid: int  # unique within a thread's path; remapped to a global id by the execution builder
    thread: int
    index: int  # position in program order
    kind: str  # "R", "W", "F" (barrier or ISB), "T" (TLB invalidation)
    loc: str | None = None
    value: int | None = None
    acquire: bool = False  # A: LDAR, LDAXR, CASA, SWPA, LDADDA ...
    acquire_pc: bool = False  # Q: LDAPR
    release: bool = False  # L: STLR, STLXR, CASL ...
    fence: str | None = None  # "DMB.SY", "DSB.ISHST", "ISB", "TLBI.VMALLS12E1IS"
    exclusive: bool = False
    noret: bool = False  # the read of an atomic whose result is discarded (Rt or CAS's Rs is XZR): NoRet
    instr: str = ""
    ttd: bool = False  # an implicit read of a translation table entry (herd7's PTE(x)) for the next access
    # The two accesses of a pair instruction that the architecture does not order between themselves
    # (LDP, STP, LDAP, STLP...) share a group and are not in program order with each other (herd's iico).
    group: int | None = None
    # The two accesses of an exclusive pair (LDXP, STXP) are together one single-copy-atomic access (herd's
    # sca class): an observer sees both writes or neither.  So are the cells of one access under Variant=mixed;
    # ``part`` tells apart the two accesses of a plain pair (LDP, STP...), each its own class, in one group.
    sca: bool = False
    part: int = 0
    translation: int | None = None  # an access's translation table read (its eid), when the test has PTE(x)

    def label(self) -> str:
        if self.ttd:
            return f"T-read {self.loc}={'valid' if descriptor_valid(self.value or 0) else 'invalid'}"
        if self.kind in ("R", "W"):
            flags = "".join(flag for flag, on in (("A", self.acquire), ("Q", self.acquire_pc),
                                                  ("L", self.release), ("X", self.exclusive)) if on)
            return f"{self.kind}{flags} {self.loc}={self.value}"
        return self.fence or self.kind


@dataclass(frozen=True, slots=True)
class Deferred:
    """The value a plain load returns, left open on its path: nothing on the path used it, so the path is the
    same whatever it is, and the reads-from choice gives it (herd7 keeps read values symbolic the same way).
    ``eid`` is the read's id on its path; a use of the register makes the value concrete (one branch per
    value of the location's domain) before the instruction runs."""

    eid: int


@dataclass(frozen=True, slots=True)
class Path:
    """One execution path of one thread."""

    thread: int
    events: tuple[Event, ...]
    addr: frozenset[tuple[int, int]]
    data: frozenset[tuple[int, int]]
    ctrl: frozenset[tuple[int, int]]
    rmw: frozenset[tuple[int, int]]
    regs: tuple[tuple[str, int | str], ...]  # final register values (canonical names)
    faults: frozenset[str] = frozenset()  # locations whose access took a translation fault (ending the path)
    error: BadAddress | None = field(default=None, compare=False)  # the access that ended this path


@dataclass
class _State:
    regs: dict[str, int | str]
    taint: dict[str, frozenset[int]]
    flags: tuple[bool, bool, bool, bool] | None = None  # PSTATE.{N,Z,C,V}
    flags_taint: frozenset[int] = frozenset()
    ctrl_taint: frozenset[int] = frozenset()
    events: list[Event] = field(default_factory=list)
    addr: set[tuple[int, int]] = field(default_factory=set)
    data: set[tuple[int, int]] = field(default_factory=set)
    ctrl: set[tuple[int, int]] = field(default_factory=set)
    rmw: set[tuple[int, int]] = field(default_factory=set)
    # The reservation a load-exclusive made: its reads (one, or an LDXP's two) and the access size in bytes.
    last_exclusive: tuple[tuple[int, ...], int] | None = None
    pc: int = 0
    steps: int = 0
    jumps: dict[int, int] = field(default_factory=dict)  # backward jumps taken to each target (replaced, never mutated)
    # Registers holding a value herd7 keeps symbolic without a read behind it (a store-exclusive's status):
    # a branch on one counts towards the unrolling bound but creates no dependency.
    symbolic: frozenset[str] = frozenset()
    faults: frozenset[str] = frozenset()
    translation: int | None = None  # the translation table read of the instruction at translated_pc
    translated_pc: int = -1
    code: int = -1  # whose code the thread runs (another thread's after a branch to its code address)

    def copy(self) -> "_State":
        return _State(dict(self.regs), dict(self.taint), self.flags, self.flags_taint, self.ctrl_taint,
                      list(self.events), set(self.addr), set(self.data), set(self.ctrl), set(self.rmw),
                      self.last_exclusive, self.pc, self.steps, self.jumps, self.symbolic, self.faults,
                      self.translation, self.translated_pc, self.code)


class ThreadRunner:
    """Enumerates the paths of one thread given the value domain of each location."""

    def __init__(self, test: LitmusTest, thread: int, domains: dict[str, tuple[int, ...]], unroll: int = UNROLL) -> None:
        self.test = test
        self.thread = thread
        # Every thread's labels: a thread may branch into another thread's code (herd's L023, "P1:Ldec").
        self.labels_of = [{i.label: n for n, i in enumerate(code) if i.label} for code in test.threads]
        self.domains = domains
        self.unroll = unroll
        self.cut: set[str] = set()  # labels where a path was cut by the unrolling bound
        # Locations whose translation the test gives (herd7's PTE(x)): each access to one first reads the entry.
        # A peripheral (device thread) observes at the endpoint and translates nothing.
        self.translated = set() if thread in test.devices else {
            loc[4:-1] for loc in test.memory_locations if loc.startswith("PTE(")}

    def _jump(self, state: _State, label: str, counted: bool) -> bool:
        """Branch to ``label``; False when this backward jump would pass the unrolling bound, which cuts the
        path (herd/mem.ml fetch_addr: a target reached by more than ``unroll`` backward jumps is not fetched).
        As herd7 does, only unconditional jumps and conditional ones on values that depend on a read count:
        a loop on known values is unrolled completely (next_instr: CondJump checks "not determined")."""
        target = self.labels_of[state.code][label]
        if counted and target < state.pc:  # state.pc is past the branch: a jump to it or before is backward
            key = (state.code, target)
            count = state.jumps.get(key, 0) + 1  # type: ignore[call-overload]
            if count > self.unroll:
                self.cut.add(label)
                return False
            state.jumps = {**state.jumps, key: count}  # type: ignore[dict-item]
        state.pc = target
        return True

    def paths(self) -> list[Path]:
        regs: dict[str, int | str] = {}
        for (thread, reg), value in self.test.init_regs.items():
            if thread == self.thread:
                regs[reg] = value
        state = _State(regs=regs, taint={}, code=self.thread)
        out: list[Path] = []
        self._run(state, out)
        return out

    # -- helpers -----------------------------------------------------------------------------------

    def _read_reg(self, state: _State, reg: Reg) -> int | str:
        if reg.name == "XZR":
            return 0
        value = state.regs.get(reg.name, 0)
        if reg.width == 32 and isinstance(value, int):
            return value & 0xFFFF_FFFF
        return value

    def _taint(self, state: _State, reg: Reg) -> frozenset[int]:
        return frozenset() if reg.name == "XZR" else state.taint.get(reg.name, frozenset())

    def _write_reg(self, state: _State, reg: Reg, value: int | str, taint: frozenset[int]) -> None:
        if reg.name == "XZR":
            return
        if reg.name in state.symbolic:
            state.symbolic = state.symbolic - {reg.name}
        if isinstance(value, int):
            value &= 0xFFFF_FFFF if reg.width == 32 else 0xFFFF_FFFF_FFFF_FFFF
        state.regs[reg.name] = value
        state.taint[reg.name] = taint

    def _operand(self, state: _State, operand: object) -> tuple[int | str, frozenset[int]]:
        if isinstance(operand, Imm):
            return operand.value, frozenset()
        assert isinstance(operand, Reg)
        return self._read_reg(state, operand), self._taint(state, operand)

    def _address(self, state: _State, mem: Mem, instr: Instr, extra: int = 0) -> tuple[str, frozenset[int]]:
        """The memory cell ``mem`` names (``extra`` bytes further: a pair's second register), after any
        write-back of the base register; under Variant=mixed, the tuple of cells the access covers."""
        base = self._read_reg(state, mem.base)
        taint = self._taint(state, mem.base)
        offset: int | str = 0
        if mem.offset is not None:
            offset, more = self._operand(state, mem.offset)
            taint = taint | more
            if mem.scale is not None and isinstance(offset, int):
                offset = _shift(offset, mem.scale, 64)
        if (mem.post is not None or mem.pre) and isinstance(base, str):
            # Write-back: the base register moves by the immediate (an address, so kept as "x+4").
            delta = mem.post.value if mem.post is not None else offset
            self._write_reg(state, mem.base, _offset_address(base, delta), self._taint(state, mem.base))  # type: ignore[arg-type]
            if mem.pre:
                base, offset = _offset_address(base, offset), 0  # type: ignore[arg-type]
        if isinstance(base, str) and isinstance(offset, int):
            location, _, moved = base.partition("+") if "+" in base else base.partition("-")
            delta = int(moved) * (1 if "+" in base else -1) if moved else 0
            total = delta + _signed(offset, 64) + extra
            if self.test.mixed is not None:
                return self._mixed_cells(instr, location, total), taint  # type: ignore[return-value]
            if location in self.test.arrays:
                size, count = self.test.arrays[location]
                # The data register: the first operand, but the second for a store exclusive (after its status).
                data = instr.args[1] if instr.op in STORE_EXCL or instr.op in STORE_EXCL_PAIRS else instr.args[0]
                accessed = (access_bytes(instr.op, data)  # type: ignore[arg-type]
                            if isinstance(data, Reg) else size)
                if total % size or not 0 <= total // size < count or accessed != size:
                    raise MemattrError(f"P{self.thread}: {instr.text}: access of {accessed} bytes at {location}+{total}",
                                       source=self.test.source, line=instr.line,
                                       expected=f"a whole element of {location} ({size} bytes each, {count} elements)")
                return f"{location}[{total // size}]", taint
            if total:
                raise MemattrError(f"P{self.thread}: {instr.text}: address {location}{total:+d} is inside a location",
                                   source=self.test.source, line=instr.line,
                                   expected="an access at the start of a location, or an element of an array")
            return location, taint
        if not isinstance(base, str):
            raise BadAddress(f"P{self.thread}: {instr.text}: base register holds {base}, not a location",
                             source=self.test.source, line=instr.line,
                             expected="a register initialised to a location, e.g. 0:X1=x")
        # Here the offset register holds a location: an address is not an offset.
        raise MemattrError(f"P{self.thread}: {instr.text}: offset {offset} is a location, not a number",
                           source=self.test.source, line=instr.line, expected="an integer offset register")

    def _mixed_cells(self, instr: Instr, location: str, offset: int) -> tuple[str, ...]:
        """Mixed-size: the cells an access covers, least significant first (its size from the data register);
        an access must be aligned to its size and inside its location (herd7 checks alignment in mixed mode)."""
        layout = self.test.mixed
        data = instr.args[1] if instr.op in STORE_EXCL else instr.args[0]
        size = access_bytes(instr.op, data)  # type: ignore[arg-type]
        if location not in layout.size or offset % size or not 0 <= offset <= layout.size[location] - size:
            raise MemattrError(f"P{self.thread}: {instr.text}: access of {size} bytes at {location}+{offset}",
                               source=self.test.source, line=instr.line,
                               expected=f"an aligned access inside {location} "
                                        f"({layout.size.get(location, '?')} bytes)")
        return tuple(layout.cells(location, offset, size))

    def _access_reads(self, state: _State, instr: Instr, target: str | tuple[str, ...], taint: frozenset[int],
                      group: int | None = None, part: int = 0,
                      **flags: object) -> Iterator[tuple[_State, int | str, tuple[int, ...]]]:
        """Read an access: one read of a location, or under Variant=mixed one read per cell of ``target``, one
        single-copy-atomic access whose value is the cells' composed little-endian.  Yields each branch with
        the value and the reads' ids.  ``group`` and ``part``: a pair's access (its two share a group)."""
        if isinstance(target, str):
            for branch, event in self._read(state, instr, target, taint, group=group, **flags):
                yield branch, event.value, (event.eid,)  # type: ignore[misc]
            return
        bits = 8 * self.test.mixed.granule
        group = len(state.events) if group is None else group

        def pieces(n: int, branch: _State, value: int, eids: tuple[int, ...]
                   ) -> Iterator[tuple[_State, int | str, tuple[int, ...]]]:
            if n == len(target):
                yield branch, value, eids
                return
            for more, event in self._read(branch, instr, target[n], taint, group=group, sca=True, part=part, **flags):
                yield from pieces(n + 1, more, value | event.value << bits * n, (*eids, event.eid))  # type: ignore[operator]

        yield from pieces(0, state, 0, ())

    def _access_writes(self, state: _State, instr: Instr, target: str | tuple[str, ...], value: int | str,
                       taint: frozenset[int], data_taint: frozenset[int], group: int | None = None, part: int = 0,
                       **flags: object) -> tuple[Event, ...]:
        """Write an access: one write, or under Variant=mixed one write per cell, least significant piece first,
        one single-copy-atomic access.  ``group`` and ``part``: a pair's access (its two share a group)."""
        if isinstance(target, str):
            return (self._write(state, instr, target, value, taint, data_taint, group=group, **flags),)  # type: ignore[arg-type]
        if isinstance(value, str):
            raise MemattrError(f"P{self.thread}: {instr.text}: a location stored under Variant=mixed",
                               source=self.test.source, line=instr.line, expected="numbers in mixed-size memory")
        bits = 8 * self.test.mixed.granule
        group = len(state.events) if group is None else group
        return tuple(self._write(state, instr, cell, value >> bits * n & (1 << bits) - 1, taint, data_taint,
                                 group=group, sca=True, part=part, **flags) for n, cell in enumerate(target))

    def _new_event(self, state: _State, instr: Instr, **fields: object) -> Event:
        if state.translation is not None and fields.get("kind") in ("R", "W") and not fields.get("ttd"):
            fields["translation"] = state.translation
        event = Event(eid=len(state.events), thread=self.thread, index=len(state.events), instr=instr.text,
                      **fields)  # type: ignore[arg-type]
        state.events.append(event)
        for source in state.ctrl_taint:
            state.ctrl.add((source, event.eid))
        return event

    def _read(self, state: _State, instr: Instr, loc: str, addr_taint: frozenset[int], **flags: object):
        for value in self.domains[loc]:
            branch = state.copy()
            event = self._new_event(branch, instr, kind="R", loc=loc, value=value, **flags)
            for source in addr_taint:
                branch.addr.add((source, event.eid))
            yield branch, event

    def _write(self, state: _State, instr: Instr, loc: str, value: int, addr_taint: frozenset[int],
               data_taint: frozenset[int], **flags: object) -> Event:
        event = self._new_event(state, instr, kind="W", loc=loc, value=value, **flags)
        for source in addr_taint:
            state.addr.add((source, event.eid))
        for source in data_taint:
            state.data.add((source, event.eid))
        return event

    @staticmethod
    def _reserved(state: _State, loc: str, size: int) -> bool:
        """Whether a store-exclusive to ``loc`` of ``size`` bytes may succeed: an earlier load-exclusive of the
        same size reserved that address (herd's AArch64Sem do_stxr: it must fail without a reservation of its
        size, and its first write's address must equal the reserved one)."""
        reserved = state.last_exclusive
        return reserved is not None and reserved[1] == size and state.events[reserved[0][0]].loc == loc

    @staticmethod
    def _pair_with_reservation(state: _State, writes: tuple[Event, ...]) -> None:
        """The store-exclusive succeeded: each of its writes forms an rmw pair with the reservation's read of the
        same location (herd's mem.ml pairs exclusive loads and stores per location), and the reservation ends."""
        reads, _ = state.last_exclusive  # type: ignore[misc]
        for write in writes:
            state.rmw.update((read, write.eid) for read in reads if state.events[read].loc == write.loc)
        state.last_exclusive = None

    def _load_exclusive_pair(self, state: _State, instr: Instr, out: list[Path]) -> None:
        """LDXP/LDAXP Rt1,Rt2,[Xn]: two exclusive reads at Xn and Xn plus the register size, unordered between
        themselves but one single-copy-atomic access (herd's AArch64Sem ldxp: para_atomic, one sca class); LDAXP's
        are both Acquire.  The pair is the reservation."""
        rt1, rt2, mem = instr.args
        size = rt1.width // 8  # type: ignore[union-attr]
        mask = (1 << 8 * size) - 1
        first, taint1 = self._address(state, mem, instr)  # type: ignore[arg-type]
        second, taint2 = self._address(state, mem, instr, extra=size)  # type: ignore[arg-type]
        flags = {"acquire": instr.op == "LDAXP", "exclusive": True, "group": len(state.events), "sca": True}
        for branch, read1 in self._read(state, instr, first, taint1, **flags):
            self._write_reg(branch, rt1, _loaded("LDXR", mask, read1.value), frozenset({read1.eid}))  # type: ignore[arg-type]
            for branch2, read2 in self._read(branch, instr, second, taint2, **flags):
                self._write_reg(branch2, rt2, _loaded("LDXR", mask, read2.value), frozenset({read2.eid}))  # type: ignore[arg-type]
                if size < 8 and (isinstance(read1.value, str) or isinstance(read2.value, str)):
                    out.append(replace(self._path(branch2), error=BadAddress(
                        f"P{self.thread}: {instr.text}: a location read into a {8 * size}-bit register",
                        source=self.test.source, line=instr.line, expected="a pointer loaded whole, into an X register")))
                    continue
                branch2.last_exclusive = ((read1.eid, read2.eid), size)
                self._run(branch2, out)

    def _store_exclusive_pair(self, state: _State, instr: Instr, out: list[Path]) -> None:
        """STXP/STLXP Ws,Rt1,Rt2,[Xn]: either fails (Ws=1, no write) or, given the reservation, writes Rt1 at Xn
        and Rt2 next to it as one single-copy-atomic access (Ws=0); STLXP's writes are both Release (herd's
        AArch64Sem stxp over do_stxr)."""
        status, rt1, rt2, mem = instr.args
        size = rt1.width // 8  # type: ignore[union-attr]
        first, taint1 = self._address(state, mem, instr)  # type: ignore[arg-type]
        second, taint2 = self._address(state, mem, instr, extra=size)  # type: ignore[arg-type]

        def write(success: _State) -> tuple[Event, ...]:
            group = len(success.events)
            writes = []
            for rt, loc, taint in ((rt1, first, taint1), (rt2, second, taint2)):
                value, data_taint = self._operand(success, rt)  # type: ignore[arg-type]
                if isinstance(value, str) and size < 8:
                    raise MemattrError(f"P{self.thread}: {instr.text}: a location (an address) stored in part",
                                       source=self.test.source, line=instr.line,
                                       expected="a pointer stored whole, from an X register")
                if isinstance(value, int):
                    value &= (1 << 8 * size) - 1
                writes.append(self._write(success, instr, loc, value, taint, data_taint,  # type: ignore[arg-type]
                                          release=instr.op == "STLXP", exclusive=True, group=group, sca=True))
            return tuple(writes)

        self._store_exclusive(state, status, first, size, write, out)  # type: ignore[arg-type]

    def _store_exclusive(self, state: _State, status: Reg, reserved_at: str, size: int,
                         write: Callable[[_State], tuple[Event, ...]], out: list[Path]) -> None:
        """A store-exclusive: given a reservation of ``size`` bytes at ``reserved_at`` it may succeed (its writes,
        each paired in rmw with the reservation's read of its location, status 0); it may always fail (no write,
        status 1).  Both end the reservation; herd7 keeps the status symbolic (see _State.symbolic)."""
        failed = state.copy()
        self._write_reg(failed, status, 1, frozenset())
        failed.symbolic = failed.symbolic | {status.name}
        failed.last_exclusive = None
        if self._reserved(state, reserved_at, size):
            self._pair_with_reservation(state, write(state))
            self._write_reg(state, status, 0, frozenset())
            state.symbolic = state.symbolic | {status.name}
            self._run(state, out)
        self._run(failed, out)

    def _code_label(self, value: int | str, instr: Instr) -> tuple[int, str]:
        """The thread and label a register's code address names."""
        code = parse_code_address(value)
        if code is not None and code[0] < len(self.labels_of) and code[1] in self.labels_of[code[0]]:
            return code
        # An error only if an execution the model allows branches so (herd's AK001 reads a pointer's initial 0
        # only in executions coherence forbids).
        raise BadAddress(f"P{self.thread}: {instr.text}: the register holds {value}, not a code address",
                         source=self.test.source, line=instr.line,
                         expected="an address from ADR, BL or an initial value such as P1:L0")

    def _instruction_at(self, value: str, instr: Instr) -> str:
        """The instruction a code address points to, as a value (herd7's ins_t): read from the code."""
        thread, label = self._code_label(value, instr)
        index = self.labels_of[thread][label]
        code = self.test.threads[thread]
        return instruction_value(code[index] if index < len(code) else None, index, self.labels_of[thread])

    def _path(self, state: _State) -> Path:
        return Path(self.thread, tuple(state.events), frozenset(state.addr), frozenset(state.data),
                    frozenset(state.ctrl), frozenset(state.rmw), tuple(sorted(state.regs.items())), state.faults)

    def _system_register_access(self, instr: Instr) -> Instr:
        """MRS/MSR of a System register.  Under herd7's Variant=NV2 (a guest hypervisor at EL1 with the Effective
        HCR_EL2.{NV, NV1, NV2} = {1, 1, 1}) an access to a register of Table D8-120's NV1=1 column is a 64-bit
        load or store at VNCR_EL2 plus the register's offset (DDI0487 M.a.a D8.14.6.2; VNCR_EL2.BADDR is
        the location VNCR_EL2 holds here); otherwise the instruction is returned as it is."""
        if "nv2" not in self.test.variants:
            return instr
        sysreg = instr.args[1] if instr.op == "MRS" else instr.args[0]
        offset = OFFSET_IF_NV1_1.get(sysreg)  # type: ignore[arg-type]
        if offset is None:
            return instr
        rt = instr.args[0] if instr.op == "MRS" else instr.args[1]
        return replace(instr, op="LDR" if instr.op == "MRS" else "STR",
                       args=(rt, Mem(Reg("VNCR_EL2", 64), Imm(offset))))

    def _resolve_deferred(self, state: _State, instr: Instr, out: list[Path]) -> bool:
        """Before an instruction that uses a register holding an open read value: one branch per value the
        read's location may hold, the value put in the register and the read event, each run from this
        instruction.  True when the branches were run here."""
        if _zero_idiom(instr):
            return False  # EOR/SUB of a register with itself: 0 whatever it holds (see _arithmetic)
        for reg in _registers_used(instr):
            value = state.regs.get(reg.name)
            if isinstance(value, Deferred):
                read = state.events[value.eid]
                for concrete in self.domains[read.loc]:  # type: ignore[index]
                    branch = state.copy()
                    branch.events[value.eid] = replace(read, value=concrete)
                    for name, held in branch.regs.items():
                        if held == value:
                            branch.regs[name] = concrete
                    self._run(branch, out)
                return True
        return False

    def _translate(self, state: _State, out: list[Path]) -> bool:
        """Before an access to a location whose translation the test gives: read its entry (one branch per
        value it may hold).  An invalid entry is a translation fault: the access does not happen and the
        thread stops there (herd7's fault(P,x)).  True when the branches were run here."""
        instr = self.test.threads[state.code][state.pc]
        mem = next((arg for arg in instr.args if isinstance(arg, Mem)), None)
        if mem is None:
            return False
        loc, _ = self._address(state.copy(), mem, instr)
        loc = loc.split("[")[0]
        if loc not in self.translated:
            return False
        entry = f"PTE({loc})"
        for value in self.domains[entry]:
            branch = state.copy()
            event = self._new_event(branch, instr, kind="R", loc=entry, value=value, ttd=True)
            if not descriptor_valid(value):
                branch.faults = branch.faults | {loc}
                out.append(self._path(branch))
                continue
            branch.translation, branch.translated_pc = event.eid, branch.pc
            self._run(branch, out)
        return True

    # -- the interpreter ---------------------------------------------------------------------------

    def _run(self, state: _State, out: list[Path]) -> None:
        try:
            self._execute(state, out)
        except BadAddress as error:
            out.append(replace(self._path(state), error=error))

    def _execute(self, state: _State, out: list[Path]) -> None:
        while True:
            tick()
            code = self.test.threads[state.code]
            if state.pc >= len(code):
                out.append(self._path(state))
                return
            if self._resolve_deferred(state, code[state.pc], out):
                return
            if state.translated_pc != state.pc:
                state.translation = None
                if self.translated and self._translate(state, out):
                    return
            state.steps += 1
            if state.steps > MAX_STEPS:
                return  # a path that loops past the bound is dropped, as herd's unrolling does
            instr = code[state.pc]
            state.pc += 1
            op = instr.op
            if op == "NOP":
                continue
            if op in ("MRS", "MSR") and "NZCV" not in instr.args:
                instr = self._system_register_access(instr)
                op = instr.op
                if op == "MRS":  # a System register held as a register of its own (herd7's SysReg)
                    self._write_reg(state, instr.args[0], *self._operand(state, Reg(instr.args[1], 64)))  # type: ignore[arg-type]
                    continue
                if op == "MSR":
                    self._write_reg(state, Reg(instr.args[0], 64), *self._operand(state, instr.args[1]))  # type: ignore[arg-type]
                    continue
            if op in LOADS and parse_code_address(self._read_reg(state, instr.args[1].base)):  # type: ignore[union-attr]
                # Reading code as data: the instruction at that address (the code is never written here).
                rt, mem = instr.args
                value = self._instruction_at(self._read_reg(state, mem.base), instr)  # type: ignore[arg-type,union-attr]
                self._write_reg(state, rt, value, self._taint(state, mem.base))  # type: ignore[arg-type,union-attr]
                continue
            if self.test.mixed is not None and _touches_memory(instr) and op not in _MIXED_ACCESSES:
                raise MemattrError(f"P{self.thread}: {instr.text}: {op} under Variant=mixed is not supported",
                                   source=self.test.source, line=instr.line,
                                   expected="loads, stores, pairs (LDP, STP...), exclusives of one register and atomics in a mixed-size test")
            if op in LOADS:
                rt, mem = instr.args
                # One location, or under Variant=mixed the cells the access covers (one single-copy-atomic access).
                target, taint = self._address(state, mem, instr)  # type: ignore[arg-type]
                mask = _access_mask(op, rt)  # type: ignore[arg-type]
                flags = _load_flags(op)
                if isinstance(target, str) and all(_loaded(op, mask, value) == value
                                                   and (isinstance(value, int) or mask == _FULL)
                                                   for value in self.domains[target]):
                    # The register receives the value as memory holds it: leave it open (see Deferred).
                    event = self._new_event(state, instr, kind="R", loc=target, value=Deferred(len(state.events)),
                                            **flags)
                    for source in taint:
                        state.addr.add((source, event.eid))
                    self._write_reg(state, rt, event.value, frozenset({event.eid}))  # type: ignore[arg-type]
                    if flags["exclusive"]:
                        state.last_exclusive = ((event.eid,), mask.bit_length() // 8)
                    continue
                for branch, value, eids in self._access_reads(state, instr, target, taint, **flags):
                    if isinstance(value, str) and mask != _FULL:
                        # A location (a pointer) read in part: herd7's "Illegal operation mask32", an error only
                        # if an execution the model allows reads one.
                        out.append(replace(self._path(branch), error=BadAddress(
                            f"P{self.thread}: {instr.text}: a location ({value}) read into a "
                            f"{mask.bit_length()}-bit register", source=self.test.source, line=instr.line,
                            expected="a pointer loaded whole, into an X register")))
                        continue
                    self._write_reg(branch, rt, _loaded(op, mask, value), frozenset(eids))  # type: ignore[arg-type]
                    if flags["exclusive"]:
                        branch.last_exclusive = (eids, mask.bit_length() // 8)
                    self._run(branch, out)
                return
            if op in LOAD_EXCL_PAIRS:
                self._load_exclusive_pair(state, instr, out)
                return
            if op in STORE_EXCL_PAIRS:
                self._store_exclusive_pair(state, instr, out)
                return
            if op in PAIRS:
                # Two single-copy-atomic accesses of the register size (LDPSW: words, sign-extended) at
                # consecutive addresses (the second computed before the first's write-back moves the base).
                # The non-temporal LDNP/STNP access as LDP/STP do.  LDIAPP's reads are both Load-AcquirePC and
                # STILP's writes both Store-Release, so each orders its pair in register order (herd's L082-L084).
                rt1, rt2, mem = instr.args
                size = 4 if op == "LDPSW" else rt1.width // 8  # type: ignore[union-attr]
                second, taint2 = self._address(state, replace(mem, post=None, pre=False), instr,  # type: ignore[arg-type]
                                               extra=size)
                first, taint1 = self._address(state, mem, instr)  # type: ignore[arg-type]
                mask = (1 << 8 * size) - 1
                loaded_as = "LDRSW" if op == "LDPSW" else op
                # herd's AArch64Sem ldp/stp: LDIAPP's reads (AcquirePC) and STILP's writes (Release) are in
                # intrinsic order, register order, but a pre-indexed STILP or STLP writes Rt2 first (a push);
                # the other pairs' two accesses are unordered between themselves, LDAP's both Acquire and
                # STLP's both Release.
                sequenced = op in ("LDIAPP", "STILP") or (op == "STLP" and mem.pre)  # type: ignore[union-attr]
                group = None if sequenced else len(state.events)
                accesses = [(rt1, first, taint1), (rt2, second, taint2)]
                if op in ("STILP", "STLP") and mem.pre:  # type: ignore[union-attr]
                    accesses.reverse()
                # Under Variant=mixed each access is the cells it covers, one single-copy-atomic class each
                # (``part``); the pair's two stay unordered between themselves (one group) unless sequenced.
                if op in ("STP", "STNP", "STILP", "STLP"):
                    for part, (rt, loc, taint) in enumerate(accesses):
                        value, data_taint = self._operand(state, rt)
                        if isinstance(value, int):
                            value &= mask
                        self._access_writes(state, instr, loc, value, taint, data_taint,  # type: ignore[arg-type]
                                            release=op in ("STILP", "STLP"), group=group, part=part)
                    continue
                (reg_a, loc_a, taint_a), (reg_b, loc_b, taint_b) = accesses
                flags = {"acquire_pc": op == "LDIAPP", "acquire": op == "LDAP"}
                for branch, value, eids in self._access_reads(state, instr, loc_a, taint_a, group=group, **flags):  # type: ignore[arg-type]
                    self._write_reg(branch, reg_a, _loaded(loaded_as, mask, value), frozenset(eids))  # type: ignore[arg-type]
                    for branch2, value2, eids2 in self._access_reads(branch, instr, loc_b, taint_b, group=group,  # type: ignore[arg-type]
                                                                     part=1, **flags):
                        self._write_reg(branch2, reg_b, _loaded(loaded_as, mask, value2), frozenset(eids2))  # type: ignore[arg-type]
                        self._run(branch2, out)
                return
            if op in STORES or op in STORE_EXCL:
                status, rt, mem = instr.args if op in STORE_EXCL else (None, *instr.args)
                target, taint = self._address(state, mem, instr)  # type: ignore[arg-type]
                value, data_taint = self._operand(state, rt)
                mask = _access_mask(op, rt)  # type: ignore[arg-type]
                if isinstance(value, str) and isinstance(target, str) and mask != _FULL and status is None:
                    raise MemattrError(f"P{self.thread}: {instr.text}: a location (an address) stored in part",
                                       source=self.test.source, line=instr.line,
                                       expected="a pointer stored whole, from an X register")
                if isinstance(value, int):
                    value &= mask
                if status is None:
                    self._access_writes(state, instr, target, value, taint, data_taint, release=op.startswith("STLR"))
                    continue
                self._store_exclusive(
                    state, status, target if isinstance(target, str) else target[0], mask.bit_length() // 8,  # type: ignore[arg-type]
                    lambda success: self._access_writes(success, instr, target, value, taint, data_taint,  # type: ignore[arg-type]
                                                        release=op.startswith("STLXR"), exclusive=True),
                    out)
                return
            if op in AMOS or op in STADDS:
                self._amo(state, instr, out)
                return
            if op in CASPS:
                self._casp(state, instr, out)
                return
            if op == "MRS":  # NZCV into bits 31..28 (no flags set yet reads as 0)
                n, z, c, v = state.flags or (False, False, False, False)
                self._write_reg(state, instr.args[0], n << 31 | z << 30 | c << 29 | v << 28, state.flags_taint)  # type: ignore[arg-type]
                continue
            if op == "MSR":
                value, taint = self._operand(state, instr.args[1])
                if isinstance(value, str):
                    raise self._location_error(instr)
                state.flags = (bool(value >> 31 & 1), bool(value >> 30 & 1), bool(value >> 29 & 1), bool(value >> 28 & 1))
                state.flags_taint = taint
                continue
            if op == "MOV":
                rd, src = instr.args
                value, taint = self._operand(state, src)
                self._write_reg(state, rd, value, taint)  # type: ignore[arg-type]
                continue
            if op in DATA_PROCESSING:
                self._arithmetic(state, instr)
                continue
            if op in ("TBZ", "TBNZ"):
                reg, bit, target = instr.args
                value, taint = self._operand(state, reg)
                if isinstance(value, str):
                    raise self._location_error(instr)
                state.ctrl_taint = state.ctrl_taint | taint
                if (value >> bit.value & 1 == 0) == (op == "TBZ") and not self._jump(state, target, bool(taint)):  # type: ignore[union-attr,arg-type]
                    return
                continue
            if op == "CSEL":
                rd, rn, rm, cond = instr.args
                chosen = rn if self._holds(state, cond, instr) else rm  # type: ignore[arg-type]
                value, taint = self._operand(state, chosen)
                # The result carries only the selected register's dependencies: the flags choose, as a
                # predicate on the register write alone (herd's AArch64Sem I_CSEL, "weak predicated").
                self._write_reg(state, rd, value, taint)  # type: ignore[arg-type]
                continue
            if op in ("CBZ", "CBNZ"):
                reg, target = instr.args
                value, taint = self._operand(state, reg)
                state.ctrl_taint = state.ctrl_taint | taint
                counted = bool(taint) or reg.name in state.symbolic  # type: ignore[union-attr]
                if (value == 0) == (op == "CBZ") and not self._jump(state, target, counted):  # type: ignore[arg-type]
                    return
                continue
            if op.startswith("B.") or op == "B":
                target = instr.args[-1]
                if op != "B":
                    state.ctrl_taint = state.ctrl_taint | state.flags_taint
                counted = op == "B" or bool(state.flags_taint)
                if (op == "B" or self._holds(state, op[2:], instr)) and not self._jump(state, target, counted):  # type: ignore[arg-type]
                    return
                continue
            if op in ("UDF", "SVC"):  # Variant=fatal: the exception ends the thread (herd's Fault(P,Kind))
                state.faults = state.faults | {"UndefinedInstruction" if op == "UDF" else "SupervisorCall"}
                out.append(self._path(state))
                return
            if op == "ADR":
                self._write_reg(state, instr.args[0], code_address(state.code, instr.args[1]), frozenset())  # type: ignore[arg-type]
                continue
            if op in ("BL", "BLR", "RET", "BR"):
                if op in ("BL", "BLR"):  # the return address, in the code running now
                    self._write_reg(state, Reg("X30", 64), code_address(state.code, instr.args[-1]), frozenset())  # type: ignore[arg-type]
                if op == "BL":
                    target = instr.args[0]
                else:
                    value, taint = self._operand(state, instr.args[0])
                    state.ctrl_taint = state.ctrl_taint | taint
                    state.code, target = self._code_label(value, instr)
                if not self._jump(state, target, True):  # type: ignore[arg-type]
                    return
                continue
            if op in ("DMB", "DSB"):
                self._new_event(state, instr, kind="F", fence=f"{op}.{instr.args[0]}")
                continue
            if op == "ISB":
                self._new_event(state, instr, kind="F", fence="ISB")
                continue
            if op == "TLBI":
                self._new_event(state, instr, kind="T", fence=f"TLBI.{instr.args[0]}")
                continue
            raise AssertionError(f"unhandled {op}")

    def _holds(self, state: _State, cond: str, instr: Instr) -> bool:
        if state.flags is None:
            raise MemattrError(f"P{self.thread}: {instr.text}: condition without a preceding flag-setting instruction",
                               source=self.test.source, line=instr.line,
                               expected="CMP, CMN, TST, ADDS, SUBS or ANDS before B.cond/CSEL/CSET")
        return condition_holds(cond, state.flags)

    def _location_error(self, instr: Instr) -> MemattrError:
        return MemattrError(f"P{self.thread}: {instr.text}: arithmetic on a location", source=self.test.source,
                            line=instr.line, expected="integer operands, or a constant or zero added to an address")

    def _address_arithmetic(self, state: _State, instr: Instr, rd: Reg, values: list[int | str],
                            shift: Shift | None, taint: frozenset[int]) -> None:
        """An address (a location, "x+4") as an operand: CMP knows only equality; a constant or an
        unshifted register moves an address; a shifted or extended register added to one must hold 0
        (diy7's false dependencies); EOR of equal operands and ADD/ORR/SUB of 0 keep the other operand."""
        op = instr.op
        if len(values) != 2:
            raise self._location_error(instr)
        a, b = values
        if isinstance(b, int) and shift is not None:
            b = _shift(b, shift, rd.width)
        if op == "CMP":
            # Comparing addresses: only equality is known (as if the locations were distinct values).
            state.flags, state.flags_taint = (False, a == b, True, False), taint
            return
        if op in ("ADD", "SUB") and isinstance(a, str) and isinstance(b, int) and (shift is None or b == 0):
            result: int | str = _offset_address(a, _signed(b, 64) if op == "ADD" else -_signed(b, 64))
        elif shift is None and op == "EOR" and a == b:
            result = 0
        elif shift is None and op in ("ADD", "ORR", "SUB") and (b == 0 or a == 0):
            result = a if b == 0 else b
        else:
            raise self._location_error(instr)
        self._write_reg(state, rd, result, taint)

    def _arithmetic(self, state: _State, instr: Instr) -> None:
        """The data-processing instructions beyond MOV/ADD/SUB/EOR/AND/ORR/CMP: results and NZCV as the ASL
        computes them (AddWithCarry, ShiftReg, the bitfield move of UBFM, ConditionHolds)."""
        op, args = instr.op, instr.args
        if _zero_idiom(instr) and isinstance(state.regs.get(args[1].name), Deferred):  # type: ignore[union-attr]
            # The false dependency diy7 writes (EOR Wd,Wn,Wn): 0 with Wn's dependencies, whatever Wn's read
            # returned, so the read stays open (herd7 simplifies x^x the same way).
            self._write_reg(state, args[0], 0, self._taint(state, args[1]))  # type: ignore[arg-type]
            return
        shift = args[-1] if isinstance(args[-1], Shift) else None
        regs = [a for a in args if not isinstance(a, (Shift, str))]
        values: list[int | str] = []
        taint: frozenset[int] = frozenset()
        for operand in regs[1:] if op not in ("CMP", "CMN", "TST") else regs:
            value, t = self._operand(state, operand)  # type: ignore[arg-type]
            values.append(value)
            taint |= t
        rd = regs[0]
        if any(isinstance(value, str) for value in values):
            self._address_arithmetic(state, instr, rd, values, shift, taint)  # type: ignore[arg-type]
            return
        bits = rd.width  # type: ignore[union-attr]
        mask = (1 << bits) - 1
        flags: tuple[bool, bool, bool, bool] | None = None
        if op in ("CSET", "CSETM", "CSINC", "CSINV", "CSNEG"):
            holds = self._holds(state, args[-1], instr)  # type: ignore[arg-type]  (as CSEL: no flag dependency)
            if op in ("CSET", "CSETM"):
                result, taint = ((1 if op == "CSET" else -1) if holds else 0), frozenset()
            else:
                chosen = regs[1] if holds else regs[2]
                value, taint = self._operand(state, chosen)  # type: ignore[arg-type]
                assert isinstance(value, int)
                result = value if holds else {"CSINC": value + 1, "CSINV": ~value, "CSNEG": -value}[op]
        elif op in ("MOVZ", "MOVN", "MOVK"):
            amount = shift.amount if shift else 0
            imm = values[0] & 0xFFFF  # type: ignore[operator]
            if op == "MOVK":
                old, old_taint = self._operand(state, rd)  # type: ignore[arg-type]
                if isinstance(old, str):
                    raise self._location_error(instr)
                result, taint = (old & ~(0xFFFF << amount)) | (imm << amount), taint | old_taint
            else:
                result = imm << amount if op == "MOVZ" else ~(imm << amount)
        elif op in ("UBFM", "SBFM"):
            source, immr, imms = values
            source &= mask
            if imms >= immr:  # UBFX/SBFX: bits imms:immr to the bottom
                width = imms - immr + 1
                result = (source >> immr) & ((1 << width) - 1)
            else:  # UBFIZ/SBFIZ, LSL: bits imms:0 to position bits - immr
                width = imms + 1
                result = source & ((1 << width) - 1)
            if op == "SBFM":
                result = _signed(result, width)
            if imms < immr:
                result <<= bits - immr
        elif op in SHIFTS:
            source, amount = values
            result = _shift(source, Shift(op, amount % bits), bits)
        elif op in MULTIPLY:
            # MUL-family (ASL: the product of the operands at their width; the L forms of 32-bit sources).
            if op.endswith("L"):
                conv = (lambda v: _signed(v & 0xFFFF_FFFF, 32)) if op[0] == "S" else (lambda v: v & 0xFFFF_FFFF)
                product = conv(values[0]) * conv(values[1])
            else:
                product = values[0] * values[1]  # type: ignore[operator]
            addend = values[2] if len(values) > 2 else 0
            if op in ("MSUB", "SMSUBL", "UMSUBL"):
                result = addend - product  # type: ignore[operator]
            elif op in ("MNEG", "SMNEGL", "UMNEGL"):
                result = -product
            else:
                result = addend + product  # type: ignore[operator]
        elif op in ("RBIT", "REV", "REV16", "REV32", "REV64", "CLZ"):
            result = _bits(op, values[0] & mask, bits)  # type: ignore[operator]
        elif op in ("SXTB", "SXTH", "SXTW", "UXTB", "UXTH"):
            width = {"B": 8, "H": 16, "W": 32}[op[3]]
            result = values[0] & ((1 << width) - 1)  # type: ignore[operator]
            if op[0] == "S":
                result = _signed(result, width)
        elif op in ("NEG", "MVN", "ABS"):
            operand = _shift(values[0], shift, bits)
            result = {"NEG": -operand, "MVN": ~operand, "ABS": abs(_signed(operand, bits))}[op]
        else:
            a = values[0]
            b = _shift(values[1], shift, bits)
            if op in ("ADD", "ADDS", "CMN"):
                result, flags = _add_with_carry(a, b, 0, bits)
            elif op in ("SUB", "SUBS", "CMP"):
                result, flags = _add_with_carry(a, ~b, 1, bits)
            elif op == "MUL":
                result = a * b
            else:
                result = {"AND": a & b, "ANDS": a & b, "TST": a & b, "EOR": a ^ b, "ORR": a | b, "BIC": a & ~b,
                          "BICS": a & ~b, "ORN": a | ~b, "EON": a ^ ~b}[op]
                result &= mask
                flags = (bool(result >> (bits - 1)), result == 0, False, False)
        if op in FLAG_ALU or op in ("CMP", "CMN", "TST"):
            state.flags, state.flags_taint = flags, taint
        if op not in ("CMP", "CMN", "TST"):
            self._write_reg(state, rd, result & mask, taint)  # type: ignore[arg-type]

    def _casp(self, state: _State, instr: Instr, out: list[Path]) -> None:
        """CASP: compare the pair at [Xn] with Rs,Rs+1; if both are equal write Rt,Rt+1; Rs,Rs+1 get the pair
        read.  As for CAS (see _amo), herd7 keeps a success's two provenances of Rs and a failure's write-back
        or not as separate executions, once for the pair."""
        rs, rs2, rt, rt2, mem = instr.args
        suffix = instr.op[4:]
        acquire, release = "A" in suffix, "L" in suffix
        size = rs.width // 8  # type: ignore[union-attr]
        mask = (1 << 8 * size) - 1
        second, taint2 = self._address(state, mem, instr, extra=size)  # type: ignore[arg-type]
        first, taint1 = self._address(state, mem, instr)  # type: ignore[arg-type]
        expected = [self._operand(state, reg) for reg in (rs, rs2)]
        for branch, read1 in self._read(state, instr, first, taint1, acquire=acquire):
            for branch2, read2 in self._read(branch, instr, second, taint2, acquire=acquire):
                reads = (read1, read2)
                olds = [r.value & mask for r in reads]  # type: ignore[operator]
                operand_taint = expected[0][1] | expected[1][1]
                ok = all(isinstance(v, int) and v & mask == old for (v, _), old in zip(expected, olds))
                if ok:
                    news = [self._operand(branch2, reg) for reg in (rt, rt2)]
                    alternatives = [(news, [t for _, t in expected]), (news, [frozenset({r.eid}) for r in reads])]
                else:
                    no_write = branch2.copy()
                    for reg, old, read in zip((rs, rs2), olds, reads):
                        self._write_reg(no_write, reg, old, frozenset({read.eid}))  # type: ignore[arg-type]
                    self._run(no_write, out)
                    alternatives = [([(old, frozenset({r.eid})) for old, r in zip(olds, reads)],
                                     [frozenset({r.eid}) for r in reads])]
                for writes, provenance in alternatives:
                    path = branch2.copy()
                    for (value, data_taint), read, loc, taint in zip(writes, reads, (first, second), (taint1, taint2)):
                        write = self._write(path, instr, loc, value & mask, taint, data_taint,  # type: ignore[operator]
                                            release=release)
                        path.rmw.add((read.eid, write.eid))
                        for source in operand_taint:
                            path.ctrl.add((source, write.eid))
                    for reg, old, taint in zip((rs, rs2), olds, provenance):
                        self._write_reg(path, reg, old, taint)  # type: ignore[arg-type]
                    self._run(path, out)

    def _amo(self, state: _State, instr: Instr, out: list[Path]) -> None:
        op = instr.op
        store_only = op in STADDS
        base = next(b for b in ("CAS", "SWP", "LDADD", "LDEOR", "LDSET", "LDCLR", "STADD", "STEOR", "STSET", "STCLR")
                    if op.startswith(b))
        suffix = op[len(base):].rstrip("BH")
        acquire, release = "A" in suffix, "L" in suffix
        if store_only:
            rs, mem = instr.args
            rt = None
        else:
            rs, rt, mem = instr.args
        loc, taint = self._address(state, mem, instr)  # type: ignore[arg-type]
        operand, operand_taint = self._operand(state, rs)
        # A result written to XZR is discarded: the read is NoRet and has no acquire semantics, and a DMB LD
        # does not order it (herd's AArch64Sem: do_read_mem_ret ... Annot.NoRet for SWP/LD<op> with Rt = ZR
        # and CAS with Rs = ZR; aarch64.cat's "(Exp & R) \ NoRet").
        result_reg = rs if base == "CAS" else rt
        noret = store_only or (result_reg is not None and result_reg.name == "XZR")  # type: ignore[union-attr]
        for branch, old, reads in self._access_reads(state, instr, loc, taint, acquire=acquire and not noret,
                                                     noret=noret):
            assert old is not None
            if base == "CAS":
                new_value, new_taint = self._operand(branch, rt)  # type: ignore[arg-type]
                if old == operand:
                    writes = self._access_writes(branch, instr, loc, new_value, taint, new_taint, release=release)  # type: ignore[arg-type]
                    branch.rmw.update(zip(reads, (w.eid for w in writes)))
                    # The write happens because the comparison succeeded: it is control-dependent on what Rs
                    # depends on (herd's event.ml aarch64_cas: the branch's control reaches the memory write).
                    branch.ctrl.update((source, w.eid) for source in operand_taint for w in writes)
                    # Rs is rewritten with a value equal to both Rs and the memory read; herd7 keeps both
                    # provenances as two executions (eventsMonad aarch64_cas_ok: DataFromRRs, DataFromRx).
                    from_register = branch.copy()
                    self._write_reg(from_register, rs, old, operand_taint)  # type: ignore[arg-type]
                    self._run(from_register, out)
                    self._write_reg(branch, rs, old, frozenset(reads))  # type: ignore[arg-type]
                else:
                    # A CAS that fails may or may not write the unchanged value back; herd7 keeps both
                    # (AArch64Sem do_cas_with: "CAS generates an Explicit Write Effect" or not).
                    write_back = branch.copy()
                    writes = self._access_writes(write_back, instr, loc, old, taint, frozenset(reads), release=release)
                    write_back.rmw.update(zip(reads, (w.eid for w in writes)))
                    write_back.ctrl.update((source, w.eid) for source in operand_taint for w in writes)
                    self._write_reg(write_back, rs, old, frozenset(reads))  # type: ignore[arg-type]
                    self._run(write_back, out)
                    self._write_reg(branch, rs, old, frozenset(reads))  # type: ignore[arg-type]
            else:
                if base == "SWP":
                    new = operand
                else:
                    kind = base[2:] if base.startswith("ST") else base[2:]
                    new = {"ADD": old + operand, "EOR": old ^ operand, "SET": old | operand,  # type: ignore[operator]
                           "CLR": old & ~operand}[kind]  # type: ignore[operator]
                writes = self._access_writes(branch, instr, loc, new, taint,  # type: ignore[arg-type]
                                             operand_taint | (frozenset() if base == "SWP" else frozenset(reads)),
                                             release=release)
                branch.rmw.update(zip(reads, (w.eid for w in writes)))
                if rt is not None:
                    self._write_reg(branch, rt, old, frozenset(reads))  # type: ignore[arg-type]
            self._run(branch, out)


def value_domains(test: LitmusTest, rounds: int = 6) -> dict[str, tuple[int, ...]]:
    """Every value each location may hold: a fixpoint of what the threads can store."""
    domains: dict[str, set[int | str]] = {loc: {test.init_mem.get(loc, 0)} for loc in test.memory_locations}
    for _ in range(rounds):
        frozen = {loc: tuple(sorted(values, key=_value_order)) for loc, values in domains.items()}
        changed = False
        for thread in range(len(test.threads)):
            for path in ThreadRunner(test, thread, frozen).paths():
                for event in path.events:
                    if event.kind == "W" and event.value not in domains[event.loc]:  # type: ignore[index]
                        domains[event.loc].add(event.value)  # type: ignore[index,arg-type]
                        changed = True
        if not changed:
            break
    return {loc: tuple(sorted(values, key=_value_order)) for loc, values in domains.items()}


def _value_order(value: int | str) -> tuple[bool, int | str]:
    """Numbers, then locations (pointers held in memory), each in their own order."""
    return (isinstance(value, str), value)


def thread_paths(test: LitmusTest) -> tuple[list[list[Path]], list[str]]:
    """Every thread's paths, and where the unrolling bound cut paths ("P0:L1"), as herd7 warns."""
    domains = value_domains(test)
    runners = [ThreadRunner(test, thread, domains) for thread in range(len(test.threads))]
    paths = [runner.paths() for runner in runners]
    for thread, options in enumerate(paths):
        if not options and not runners[thread].cut:
            raise MemattrError(f"P{thread} has no path that ends within {MAX_STEPS} instructions",
                               source=test.source, line=test.threads[thread][0].line if test.threads[thread] else 1,
                               expected="loops that terminate")
    return paths, sorted({f"P{thread}:{label}" for thread, runner in enumerate(runners) for label in runner.cut})


def combinations(paths: list[list[Path]]):  # type: ignore[no-untyped-def]
    return itertools.product(*paths)


_FULL = 0xFFFF_FFFF_FFFF_FFFF


def _load_flags(op: str) -> dict[str, bool]:
    """A load's read annotations: Acquire (LDAR, LDAXR), AcquirePC (LDAPR), exclusive (LDXR, LDAXR)."""
    return {"acquire": op.startswith(("LDAR", "LDAXR")), "acquire_pc": op.startswith("LDAPR"),
            "exclusive": op.startswith(("LDXR", "LDAXR"))}


def _zero_idiom(instr: Instr) -> bool:
    """EOR or SUB of a register with itself (no shift, no flags): the result is 0 whatever the register holds."""
    args = instr.args
    return (instr.op in ("EOR", "SUB") and len(args) == 3 and all(isinstance(a, Reg) for a in args)
            and args[1] == args[2])


# The accesses split into cells under Variant=mixed (ThreadRunner._access_reads/_access_writes).
_MIXED_ACCESSES = LOADS | STORES | STORE_EXCL | AMOS | STADDS | PAIRS


def _touches_memory(instr: Instr) -> bool:
    return any(isinstance(arg, Mem) for arg in instr.args)


def _registers_used(instr: Instr) -> Iterator[Reg]:
    """The registers an instruction may read: every register it names, but the destinations of plain and pair
    loads, and X30 for a RET without an operand."""
    args = instr.args
    if instr.op in LOADS:
        args = args[1:]
    elif instr.op in PAIRS and instr.op.startswith("LD") or instr.op in LOAD_EXCL_PAIRS:
        args = args[2:]
    for arg in args:
        if isinstance(arg, Reg):
            yield arg
        elif isinstance(arg, Mem):
            yield arg.base
            if isinstance(arg.offset, Reg):
                yield arg.offset
    if instr.op == "RET" and not instr.args:
        yield Reg("X30", 64)
    if instr.op in ("MRS", "MSR") and "NZCV" not in args:
        yield Reg("VNCR_EL2", 64)
        if instr.op == "MRS":
            yield Reg(args[1], 64)  # type: ignore[arg-type]


def _loaded(op: str, mask: int, value: int | str | None) -> int | str | None:
    """A loaded value as the register receives it: the accessed bits, sign-extended by LDRSB/LDRSH/LDRSW."""
    if not isinstance(value, int):
        return value
    value &= mask
    return _signed(value, mask.bit_length()) if op.startswith("LDRS") else value


def access_bytes(op: str, register: Reg) -> int:
    """The bytes a load or store moves (see _access_mask)."""
    return _access_mask(op, register).bit_length() // 8


def _access_mask(op: str, register: Reg) -> int:
    """The bits a load or store moves: a byte (…B), a halfword (…H), a word (LDRSW), else the register's
    width.  Loads zero-extend and stores write the low bits (LDRB/LDRH/STRB/STRH, DDI0487 C6.2); the
    LDRS forms sign-extend after (see the load)."""
    if op in ("LDRSW", "LDPSW"):
        return 0xFFFF_FFFF
    if op.endswith("B"):
        return 0xFF
    if op.endswith("H"):
        return 0xFFFF
    return 0xFFFF_FFFF if register.width == 32 else 0xFFFF_FFFF_FFFF_FFFF


def _add_with_carry(x: int, y: int, carry_in: int, bits: int) -> tuple[int, tuple[bool, bool, bool, bool]]:
    """ASL AddWithCarry: the result and NZCV of x + y + carry_in at ``bits`` wide."""
    mask = (1 << bits) - 1
    x, y = x & mask, y & mask
    unsigned_sum = x + y + carry_in
    signed_sum = _signed(x, bits) + _signed(y, bits) + carry_in
    result = unsigned_sum & mask
    return result, (bool(result >> (bits - 1)), result == 0, result != unsigned_sum, _signed(result, bits) != signed_sum)


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


_EXTEND_BITS = {"B": 8, "H": 16, "W": 32, "X": 64}


def _shift(value: int, shift: Shift | None, bits: int) -> int:
    """ASL ShiftReg (LSL, LSR, ASR) or ExtendReg (SXTW, UXTB, ... then a left shift) at ``bits`` wide."""
    if shift is not None and shift.kind[1:3] == "XT":
        width = _EXTEND_BITS[shift.kind[3]]
        value &= (1 << width) - 1
        if shift.kind[0] == "S":
            value = _signed(value, width)
        return (value << shift.amount) & ((1 << bits) - 1)
    value &= (1 << bits) - 1
    if shift is None or shift.amount == 0:
        return value
    if shift.kind == "LSL":
        return (value << shift.amount) & ((1 << bits) - 1)
    if shift.kind == "LSR":
        return value >> shift.amount
    if shift.kind == "ROR":
        return ((value >> shift.amount) | (value << (bits - shift.amount))) & ((1 << bits) - 1)
    return (_signed(value, bits) >> shift.amount) & ((1 << bits) - 1)


def _bits(op: str, value: int, bits: int) -> int:
    """RBIT, REV, REV16, REV32, REV64 (REV of a 64-bit register) and CLZ at ``bits`` wide."""
    if op == "CLZ":
        return bits - value.bit_length()
    if op == "RBIT":
        return int(format(value, f"0{bits}b")[::-1], 2)
    chunk = {"REV16": 16, "REV32": 32, "REV64": 64, "REV": bits}[op]
    data = value.to_bytes(bits // 8, "little")
    out = b"".join(data[i:i + chunk // 8][::-1] for i in range(0, len(data), chunk // 8))
    return int.from_bytes(out, "little")


def condition_holds(cond: str, flags: tuple[bool, bool, bool, bool]) -> bool:
    """ASL ConditionHolds over PSTATE.{N,Z,C,V}."""
    n, z, c, v = flags
    return {"EQ": z, "NE": not z, "CS": c, "HS": c, "CC": not c, "LO": not c, "MI": n, "PL": not n, "VS": v,
            "VC": not v, "HI": c and not z, "LS": not (c and not z), "GE": n == v, "LT": n != v,
            "GT": not z and n == v, "LE": not (not z and n == v), "AL": True, "NV": True}[cond]


def _offset_address(address: str, delta: int) -> str:
    """A location name moved by ``delta`` bytes, written "x+4" (and back to "x" at offset 0)."""
    match = re.fullmatch(r"(?P<loc>[A-Za-z_][A-Za-z0-9_]*)(?P<off>[+-]\d+)?", address)
    assert match, address
    total = int(match.group("off") or 0) + delta
    return match.group("loc") + (f"{total:+d}" if total else "")
