"""Enumerate the candidate executions of a test, check the model, and report as herd7 does."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from memattr.errors import MemattrError
from memattr.litmus.limits import Budget, LimitReached, limited, tick
from memattr.litmus import herd_format
from memattr.litmus.ast import (INT, And, Atom, Const, CType, Implies, LitmusTest, Not, Or, Prop, atoms_of,
                                 show_value)
from memattr.litmus.mixed import mixed_view, recompose
from memattr.litmus.model import (ASSUMPTIONS, CHECKED, NON_REORDERING, Execution, Relations, acyclic, check, flags,
                                  tlbi_dsb, union)
from memattr.litmus.parser import fault_name
from memattr.litmus.semantics import UNROLL, Deferred, Event, Path, thread_paths

KINDS = ("Allowed", "Forbidden", "Required")


# herd7's word for a test on its "Test" line, by the condition's quantifier.
_TEST_KINDS = {"exists": "Allowed", "~exists": "Forbidden", "forall": "Required"}


@dataclass
class Result:
    name: str
    condition: str
    states: dict[tuple[tuple[str, str], ...], bool]  # final state -> satisfies the condition
    positive: int
    negative: int
    time_s: float
    witness: tuple[Execution, Relations] | None = None
    reasons: tuple[str, ...] = ()
    executions: int = 0
    status: str = "ok"  # "unknown": a limit stopped the test; "unsupported": it could not be read or modelled
    reason: str | None = None
    warnings: tuple[str, ...] = ()
    # Device tests: the assumptions (memattr.litmus.model.ASSUMPTIONS) the verdict rests on.
    assumptions: tuple[str, ...] = ()
    # What each state's entries are, in order (herd7's States lines name them its own way), and the arrays.
    observed: tuple[Atom, ...] = ()
    arrays: frozenset[str] = frozenset()
    flags: tuple[str, ...] = ()  # herd7's flags the allowed executions raise (memattr.litmus.model.flags)
    # The declared type of each state entry (a whole array: its elements'); INT when the test declares none.
    types: dict[str, CType] = field(default_factory=dict)
    loop: bool = False  # the unrolling bound cut some path short (herd7 then says "Loop Ok" or "Loop No")

    @property
    def observation(self) -> str:
        if self.status != "ok":
            return "Unknown"
        if self.positive == 0:
            return "Never"
        if self.negative == 0:
            return "Always"
        return "Sometimes"

    @property
    def kind(self) -> str:
        if self.status == "unsupported":
            return "Unsupported"
        if self.status != "ok":
            return "Unknown"
        return {"Never": "Forbidden", "Always": "Required", "Sometimes": "Allowed"}[self.observation]

    @property
    def validated(self) -> bool:
        """herd's Ok/No: the condition's quantifier holds (never for a test that did not run)."""
        if self.status != "ok" or not self.condition:
            return False
        quantifier = self.condition.split()[0]
        if quantifier == "exists":
            return self.positive > 0
        if quantifier == "~exists":
            return self.positive == 0
        return self.negative == 0

    def shown(self, state: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        """A state's values as herd7 shows them: each number as its declared type (int8_t 255 is -1)."""
        def show(name: str, value: str) -> str:
            ctype = self.types.get(name, INT)
            if value.startswith("{"):
                return "{" + ",".join(show(name, element) for element in value[1:-1].split(",")) + "}"
            return show_value(int(value), ctype) if value.lstrip("-").isdigit() else value
        return tuple((name, show(name, value)) for name, value in state)

    def herd_text(self) -> str:
        if self.status != "ok":
            return f"Test {self.name} {self.kind}\nReason {self.reason}\nTime {self.name} {self.time_s:.2f}\n"
        quantifier = self.condition.split()[0]
        lines = [f"Test {self.name} {_TEST_KINDS.get(quantifier, 'Allowed')}", f"States {len(self.states)}"]
        lines += herd_format.state_lines(self.observed, list(self.states), self.shown, self.arrays)
        lines.append(("Loop " if self.loop else "") + ("Ok" if self.validated else "No"))
        lines.append("Witnesses")
        # herd7 counts a ~exists test's witnesses for its negation: Positive the executions without the state.
        positive, negative = (self.negative, self.positive) if quantifier == "~exists" else (self.positive, self.negative)
        lines.append(f"Positive: {positive} Negative: {negative}")
        lines += [f"Flag {flag}" for flag in self.flags]
        lines.append(f"Condition {self.condition}")
        lines.append(f"Observation {self.name} {self.observation} {self.positive} {self.negative}")
        lines.append(f"Time {self.name} {self.time_s:.2f}")
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "kind": self.kind,
            "observation": self.observation,
            "validated": self.validated,
            "condition": self.condition,
            "states": [dict(self.shown(state)) | {"satisfies": ok} for state, ok in sorted(self.states.items())],
            "witnesses": {"positive": self.positive, "negative": self.negative},
            "executions": self.executions,
            "unconstrained": list(self.reasons),
            "warnings": list(self.warnings),
            "assumptions": [{"name": name, "text": ASSUMPTIONS[name]} for name in self.assumptions],
            "flags": list(self.flags),
            "time_s": round(self.time_s, 4),
        }


def _observed(test: LitmusTest) -> list[Atom]:
    atoms = [*atoms_of(test.condition.prop), *test.locations]
    seen, out = set(), []
    for atom in atoms:
        key = (atom.thread, atom.name)
        if key not in seen:
            seen.add(key)
            out.append(atom)
    return out


def _final(values: dict[tuple[int | None, str], int | str], thread: int | None, name: str) -> int | str | None:
    """A final value; a register no instruction wrote and the initial state did not set holds 0 (herd7)."""
    return values.get((thread, name), 0 if thread is not None else None)


def _eval(prop: Prop, values: dict[tuple[int | None, str], int | str],
          types: dict[tuple[int | None, str], CType] | None = None) -> bool:
    if isinstance(prop, Atom):
        if isinstance(prop.value, tuple):  # a whole array: element by element, each at its type's width
            return all(_eval(Atom(None, f"{prop.name}[{index}]", element), values, types)
                       for index, element in enumerate(prop.value))
        value = _final(values, prop.thread, prop.name)
        if isinstance(value, int) and isinstance(prop.value, int) and types is not None:
            # herd7 compares a register or location at its declared type's width, "int" (32 bits) by default.
            mask = (1 << types.get((prop.thread, prop.name), INT)[0]) - 1
            return value & mask == prop.value & mask
        return value == prop.value
    if isinstance(prop, Not):
        return not _eval(prop.inner, values, types)
    if isinstance(prop, And):
        return _eval(prop.left, values, types) and _eval(prop.right, values, types)
    if isinstance(prop, Or):
        return _eval(prop.left, values, types) or _eval(prop.right, values, types)
    if isinstance(prop, Implies):
        return not _eval(prop.left, values, types) or _eval(prop.right, values, types)
    assert isinstance(prop, Const)
    return prop.value


def condition_text(test: LitmusTest) -> str:
    """The test's condition as herd7 prints it (``exists (0:X0=1 /\\ [x]=0)``)."""
    return herd_format.condition_text(test.condition, frozenset(test.arrays))


def run_test(test: LitmusTest, *, keep_witness: bool = True, budget: Budget | None = None) -> Result:
    """Run one test; a test that reaches its budget comes back with ``status`` unknown and the reason."""
    start = time.perf_counter()
    budget = budget or Budget()
    test = _as_run(test)
    try:
        with limited(budget):
            return _run_test(test, keep_witness, start)
    except LimitReached as stop:
        return Result(test.name, condition_text(test), {}, 0, 0, time.perf_counter() - start,
                      executions=budget.steps, status="unknown", reason=stop.reason)


def _as_run(test: LitmusTest) -> LitmusTest:
    """The test as the engine runs it: under Variant=mixed, memory as cells (memattr.litmus.mixed)."""
    return mixed_view(test) if "mixed" in test.variants and test.mixed is None else test


def _candidates(test: LitmusTest, paths: list[list[Path]]) -> Iterator[tuple[tuple[Path, ...], Execution]]:
    """Every candidate execution: each combination of the threads' paths with each reads-from and coherence
    choice that is SC per location."""
    locations = test.memory_locations
    memtype = {loc: test.location_attrs(loc).memtype for loc in locations}
    peripheral = {loc: test.location_attrs(loc).peripheral for loc in locations}
    for combo in itertools.product(*paths):
        for execution in _executions(test, combo, locations, memtype, peripheral):
            yield combo, execution


def _filtered_out(test: LitmusTest, values: dict[tuple[int | None, str], int | str]) -> bool:
    """herd7's filter: an execution whose final state fails it is not counted."""
    return test.filter is not None and not _eval(test.filter, values, test.reg_types)


def _run_test(test: LitmusTest, keep_witness: bool, start: float) -> Result:
    paths, cut = thread_paths(test)
    observed = _observed(test)
    states: dict[tuple[tuple[str, str], ...], bool] = {}
    positive = negative = executions = 0
    witness = None
    raised: set[str] = set()
    names = [f"{a.thread}:{_show_reg(a.name)}" if a.thread is not None else a.name for a in observed]
    # Without each checked assumption the endpoint axiom only loses edges, so an execution it allows with all
    # of them stays allowed: only rejected executions need checking again, once per assumption.
    extra = {name: [0, 0] for name in CHECKED} if test.attrs else {}
    for combo, execution in _candidates(test, paths):
        executions += 1
        ok, relations, _ = check(execution)
        if ok:
            for path in combo:
                if path.error is not None:
                    raise path.error  # the model allows an execution that makes this access
        if not ok:
            for name, counts in extra.items():
                if check(execution, CHECKED - {name})[0]:
                    values = _final_values(test, combo, execution)
                    if not _filtered_out(test, values):
                        counts[0 if _eval(test.condition.prop, values, test.reg_types) else 1] += 1
            continue
        values = _final_values(test, combo, execution)
        if _filtered_out(test, values):
            continue
        raised.update(flags(execution))
        satisfied = _eval(test.condition.prop, values, test.reg_types)
        # A state is its full values (herd7 tells apart states that its output shows alike, as a 64-bit
        # value in an int register); Result.shown gives each as its declared type.
        state = tuple((name, str(_final(values, a.thread, a.name))) for name, a in zip(names, observed))
        states[state] = satisfied
        if satisfied:
            positive += 1
            if witness is None and keep_witness:
                witness = (execution, relations)
        else:
            negative += 1
    result = Result(test.name, condition_text(test), states, positive, negative, time.perf_counter() - start,
                    witness, executions=executions, observed=tuple(observed), arrays=frozenset(test.arrays),
                    flags=tuple(sorted(raised)),
                    types={name: _entry_type(test, atom) for name, atom in zip(names, observed)})
    if witness is not None and test.attrs:
        result.reasons = unconstrained(witness[1])
    if test.attrs:
        result.assumptions = _assumptions(test, result, extra)
    result.warnings = test.notes
    if cut:
        result.loop = True
        result.warnings += tuple(f"loop unrolling limit ({UNROLL}) reached at {where}: executions that loop longer "
                                "are not explored, as herd7 does by default" for where in cut)
    return result


def _assumptions(test: LitmusTest, result: Result, extra: dict[str, list[int]]) -> tuple[str, ...]:
    """The assumptions a device test's verdict needs: those that hold for every device test, and each checked
    one without which the observation would differ."""
    names = []
    if any(attrs.peripheral for attrs in test.attrs.values()):
        names.append("peripheral")
    if sum(attrs.memtype in NON_REORDERING for attrs in test.attrs.values()) > 1:
        names.append("xs")
    if test.devices:
        names.append("outer-shareable")
    for name in sorted(extra):
        more_positive, more_negative = extra[name]
        without = Result(test.name, result.condition, {}, result.positive + more_positive,
                         result.negative + more_negative, 0.0)
        if without.observation != result.observation:
            names.append(name)
    return tuple(names)


@dataclass
class Closest:
    """Why a test's condition is never observed: the candidate execution that satisfies the condition and
    breaks the fewest axioms (then the shortest cycle), each broken axiom with its cycle."""

    execution: Execution
    relations: Relations
    broken: list[tuple[str, list[int]]]


def closest_candidate(test: LitmusTest, budget: Budget | None = None) -> Closest | None:
    """For a test whose condition no allowed execution satisfies: the closest forbidden candidate."""
    from memattr.litmus.model import violations

    test = _as_run(test)
    paths, _ = thread_paths(test)
    best: Closest | None = None
    with limited(budget or Budget()):
        for combo, execution in _candidates(test, paths):
            values = _final_values(test, combo, execution)
            if not _eval(test.condition.prop, values, test.reg_types) or _filtered_out(test, values):
                continue
            relations, broken = violations(execution)
            if not broken:
                continue
            key = (len(broken), sum(len(cycle) for _, cycle in broken))
            if best is None or key < (len(best.broken), sum(len(c) for _, c in best.broken)):
                best = Closest(execution, relations, broken)
    return best


def _entry_type(test: LitmusTest, atom: Atom) -> CType:
    """The declared type of a state entry; a whole array's is its first element's."""
    if atom.thread is None and atom.name in test.arrays:
        return test.reg_types.get((None, f"{atom.name}[0]"), INT)
    return test.reg_types.get((atom.thread, atom.name), INT)


def _show_reg(name: str) -> str:
    return name


def _final_values(test: LitmusTest, combo: tuple[Path, ...], x: Execution) -> dict[tuple[int | None, str], int | str]:
    values: dict[tuple[int | None, str], int | str] = {}
    base = len(test.memory_locations)  # the execution's events: the initial writes, then each path's
    for path in combo:
        values[(path.thread, "XZR")] = 0  # the zero register reads as zero in a condition too
        for reg, value in path.regs:
            # A register holding an open read value: what the read returned in this execution.
            if isinstance(value, Deferred):
                value = x.events[base + value.eid].value  # type: ignore[assignment]
            values[(path.thread, reg)] = value
        base += len(path.events)
        for loc in path.faults:
            values[(path.thread, fault_name(loc))] = 1
    # Final memory: the co-last write of each location.
    last: dict[str, int] = {}
    for loc in test.memory_locations:
        writes = [e for e, ev in enumerate(x.events) if ev.kind == "W" and ev.loc == loc]
        later = {a for a, b in x.co}
        final = [w for w in writes if w not in later]
        if final:
            last[loc] = x.events[final[0]].value  # type: ignore[assignment]
    for loc, value in last.items():
        values[(None, loc)] = value
    if test.mixed is not None:
        recompose(test.mixed, values)
    # A whole array, as herd7 shows it in the final state: "t={5,2}".
    for name, (_, count) in test.arrays.items():
        elements = [values.get((None, f"{name}[{index}]")) for index in range(count)]
        if all(element is not None for element in elements):
            values[(None, name)] = "{" + ",".join(str(element) for element in elements) + "}"
    return values


def _executions(test: LitmusTest, combo: tuple[Path, ...], locations: tuple[str, ...],
                memtype: dict[str, str], peripheral: dict[str, str | None]) -> Iterator[Execution]:
    # A read of a value no write of this combination provides rules the combination out: check that first,
    # before building any relation (most combinations of paths fail here).
    written = {(loc, test.init_mem.get(loc, 0)) for loc in locations}
    written.update((e.loc, e.value) for path in combo for e in path.events if e.kind == "W")
    if any(e.kind == "R" and (e.loc, e.value) not in written and not isinstance(e.value, Deferred)
           for path in combo for e in path.events):
        return
    events: list[Event] = []
    for loc in locations:  # initial writes, thread -1
        events.append(Event(eid=len(events), thread=-1, index=0, kind="W", loc=loc, value=test.init_mem.get(loc, 0),
                            instr="init"))
    offsets = []
    po: set[tuple[int, int]] = set()
    tr: set[tuple[int, int]] = set()
    addr, data, ctrl, rmw = set(), set(), set(), set()
    for path in combo:
        base = len(events)
        offsets.append(base)
        for event in path.events:
            events.append(event)
        # Translation table reads are not in program order: they belong to their access ("tr" below).
        ids = [base + n for n, event in enumerate(path.events) if not event.ttd]
        po.update((ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids))
                  if events[ids[i]].group is None or events[ids[i]].group != events[ids[j]].group)
        tr.update((base + event.translation, base + n) for n, event in enumerate(path.events)
                  if event.translation is not None)
        for rel, out in ((path.addr, addr), (path.data, data), (path.ctrl, ctrl), (path.rmw, rmw)):
            out.update((base + a, base + b) for a, b in rel)
    # Per location: every co order and rf choice (same value) that is SC per location.
    per_location: list[list[tuple[frozenset, frozenset]]] = []
    po_frozen = frozenset(po)
    for loc in locations:
        reads = [e for e, ev in enumerate(events) if ev.kind == "R" and ev.loc == loc]
        writes = [e for e, ev in enumerate(events) if ev.kind == "W" and ev.loc == loc]
        # A read left open (Deferred) may read from any write: it returns what that write wrote.
        sources = [[w for w in writes if events[w].value == events[r].value or isinstance(events[r].value, Deferred)]
                   for r in reads]
        if any(not s for s in sources):
            return
        po_loc = frozenset(p for p in po_frozen if events[p[0]].loc == loc and events[p[1]].loc == loc)
        choices = _sc_per_location(writes[0], writes[1:], reads, sources, po_loc)
        if not choices:
            return
        per_location.append(choices)
    deferred = [e for e, event in enumerate(events) if isinstance(event.value, Deferred)]
    for pick in itertools.product(*per_location):
        tick()
        rf = union(*(c[0] for c in pick))
        co = union(*(c[1] for c in pick))
        chosen = events
        if deferred:  # each open read returns what its source wrote
            chosen = list(events)
            for w, r in rf:
                if isinstance(events[r].value, Deferred):
                    chosen[r] = replace(events[r], value=events[w].value)
        yield Execution(chosen, po_frozen, rf, co, frozenset(addr), frozenset(data), frozenset(ctrl),
                        frozenset(rmw), memtype, peripheral, test.devices, frozenset(tr))


def _sc_per_location(init: int, others: list[int], reads: list[int], sources: list[list[int]],
                     po_loc: frozenset[tuple[int, int]]) -> list[tuple[frozenset, frozenset]]:
    """The (rf, co) choices of one location with po-loc | rf | co | fr acyclic (SC per location), in the order a
    plain enumeration would give them (co orders lexicographically, then rf picks lexicographically).

    co starts at the initial write and extends the program order of the location's writes (an order against
    it is a po-loc/co cycle); each read then picks its source in turn, and a pick that already closes a cycle
    with the picks before it is dropped with everything under it (adding edges only adds cycles).  So 20 reads
    of a location one other thread writes give 21 choices after about 40 checks, not 2^20 candidates."""
    earlier = {w: [v for v in others if (v, w) in po_loc] for w in others}
    choices: list[tuple[frozenset, frozenset]] = []
    for order in _linear_extensions(others, earlier):
        tick()
        chain = [init, *order]
        position = {w: i for i, w in enumerate(chain)}
        co = frozenset((chain[i], chain[j]) for i in range(len(chain)) for j in range(i + 1, len(chain)))
        picks: list[int] = []

        def search(i: int, edges: frozenset[tuple[int, int]]) -> None:
            if i == len(reads):
                choices.append((frozenset(zip(picks, reads)), co))  # noqa: B023 (used at once)
                return
            read = reads[i]
            for source in sources[i]:
                tick()
                more = edges | {(source, read)} | {(read, later) for later in chain[position[source] + 1:]}  # noqa: B023
                if acyclic(more):
                    picks.append(source)  # noqa: B023
                    search(i + 1, more)
                    picks.pop()  # noqa: B023

        search(0, po_loc | co)
    return choices


def _linear_extensions(items: list[int], earlier: dict[int, list[int]]) -> Iterator[list[int]]:
    """The orders of ``items`` in which each comes after everything ``earlier`` names for it, in the
    lexicographic order of positions in ``items`` (as itertools.permutations lists them)."""
    order: list[int] = []
    placed: set[int] = set()

    def extend() -> Iterator[list[int]]:
        if len(order) == len(items):
            yield list(order)
            return
        for item in items:
            if item not in placed and all(e in placed for e in earlier[item]):
                order.append(item)
                placed.add(item)
                yield from extend()
                placed.discard(item)
                order.pop()

    yield from extend()


def unconstrained(r: Relations) -> tuple[str, ...]:
    """Why the architecture allows a witness: the arrival guarantees that are missing in it."""
    x = r.x
    ev = x.events
    ab = r["ab"]
    reasons: list[str] = []
    pairs = [(a, b) for a, b in r["po"] if r.s.pe_endpoint(a) and r.s.pe_endpoint(b)]
    pairs += [(a, b) for a, b in r["ob+"] if r.s.pe_endpoint(a) and r.s.pe_endpoint(b)
              and ev[a].thread != ev[b].thread and r.same_peripheral(a, b)]
    for t, after in tlbi_dsb(r):
        pairs += [(e1, e2) for e1 in range(len(ev)) for e2 in after
                  if r.s.pe_endpoint(e1) and ev[e1].thread != ev[t].thread]
    for a, b in pairs:
        if (a, b) in ab:
            continue
        ea, eb = ev[a], ev[b]
        what = f"{ea.label()} (P{ea.thread}) is not guaranteed to reach {x.peripheral.get(ea.loc)} before " \
               f"{eb.label()} (P{eb.thread}) reaches {x.peripheral.get(eb.loc)}"
        between = [e for e in range(len(ev)) if (a, e) in r["po"] and (e, b) in r["po"] and ev[e].kind in ("F", "T")]
        fences = {ev[e].fence for e in between}
        if ea.thread != eb.thread and (a, b) in r["ob+"]:
            why = ("Ordered-before across PEs orders arrival only for Device-nGRE and stronger (B2.4.1.1 rule b); "
                   "Device-GRE and Normal Non-cacheable need a barrier on one PE (rule c)")
        elif ea.thread != eb.thread:
            why = ("TLB invalidation and DSB complete the other PE's access, but a write with Early Write "
                   "Acknowledgement can be complete before it arrives (B2.4.1 completion)")
        elif any(f and f.startswith("DSB") for f in fences) and ea.kind == "W" and not r.s.no_early_ack(a):
            why = (f"the DSB waits for completion of a {x.memtype[ea.loc]} write, which an intermediate point may "
                   f"acknowledge early (Early Write Acknowledgement; B2.4.1 ties completion to arrival only for "
                   f"Device-nGnRnE)")
        elif fences and not r.same_peripheral(a, b):
            why = "B2.4.1.1 orders arrival at one peripheral only; these are different peripherals"
        elif (a, b) in r["lob"]:
            why = ("a dependency or acquire orders arrival only for Device-nGRE and stronger (B2.4.1.1 rule b); "
                   "Device-GRE and Normal Non-cacheable need a barrier (rule c)")
        elif not fences:
            why = "no barrier, dependency or completion orders them"
        else:
            why = "no ordering rule applies"
        reasons.append(f"{what}: {why}")
    # Ordinary memory written before a peripheral is told about it (the doorbell pattern).
    for a, b in r["po"]:
        ea, eb = ev[a], ev[b]
        if (r.s.W(a) and not r.s.endpoint(a) and r.s.W(b) and r.s.endpoint(b) and not r.s.device_thread(a)
                and (a, b) not in r["lob"]):
            reasons.append(f"{ea.label()} (P{ea.thread}) is not ordered before {eb.label()} reaches "
                           f"{x.peripheral.get(eb.loc)}: no barrier or dependency makes it ordered-before "
                           f"(B2.3.7), so the peripheral may see the doorbell first")
    return tuple(dict.fromkeys(reasons))

