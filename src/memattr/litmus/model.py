"""The Arm memory model as relations over one candidate execution, plus memattr's endpoint extension.

Each relation is defined once, in ``RELATIONS``, from earlier ones, with the rule it mirrors
(DDI0487 M.a B2.3 "Definition of the Arm memory model"; herdtools7's aarch64.cat follows the same
text).  ``AXIOMS`` lists the checks.  The small engine below evaluates them over sets of event-id
pairs, in the declarative spirit of a .cat file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from memattr.litmus.semantics import Event

Rel = frozenset[tuple[int, int]]

ENDPOINT_TYPES_NO_EARLY_ACK = {"Device-nGnRnE"}  # B2.10.2.3: nE, the acknowledgement comes from the endpoint
NON_REORDERING = {"Device-nGnRnE", "Device-nGnRE"}  # B2.10.2.2: nR


@dataclass
class Execution:
    """A candidate execution: events with their attributes and the base relations."""

    events: list[Event]  # global ids are list indexes; init writes have thread -1
    po: Rel
    rf: Rel
    co: Rel
    addr: Rel
    data: Rel
    ctrl: Rel
    rmw: Rel
    memtype: dict[str, str]  # location -> canonical memory type
    peripheral: dict[str, str | None]
    devices: frozenset[int]


# --- relation algebra --------------------------------------------------------------------------

def union(*rels: Iterable[tuple[int, int]]) -> Rel:
    out: set[tuple[int, int]] = set()
    for rel in rels:
        out.update(rel)
    return frozenset(out)


def seq(a: Rel, b: Rel) -> Rel:
    by_src: dict[int, list[int]] = {}
    for x, y in b:
        by_src.setdefault(x, []).append(y)
    return frozenset((x, z) for x, y in a for z in by_src.get(y, ()))


def restrict(rel: Rel, dom: Callable[[int], bool] | None = None, rng: Callable[[int], bool] | None = None) -> Rel:
    return frozenset((x, y) for x, y in rel if (dom is None or dom(x)) and (rng is None or rng(y)))


def acyclic(rel: Rel) -> bool:
    graph: dict[int, list[int]] = {}
    for x, y in rel:
        if x == y:
            return False
        graph.setdefault(x, []).append(y)
    state: dict[int, int] = {}
    for start in graph:
        if state.get(start):
            continue
        stack = [(start, iter(graph.get(start, ())))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            for child in children:
                mark = state.get(child, 0)
                if mark == 1:
                    return False
                if mark == 0:
                    state[child] = 1
                    stack.append((child, iter(graph.get(child, ()))))
                    break
            else:
                state[node] = 2
                stack.pop()
    return True


def closure(rel: Rel) -> Rel:
    result = set(rel)
    changed = True
    while changed:
        changed = False
        for x, y in list(result):
            for y2, z in list(result):
                if y == y2 and (x, z) not in result:
                    result.add((x, z))
                    changed = True
    return frozenset(result)


# --- event sets ----------------------------------------------------------------------------------

_FULL = {"SY", "ISH", "OSH"}  # NSH barriers order nothing between PEs (aarch64.cat omits them)
_LD = {"LD", "ISHLD", "OSHLD"}
_ST = {"ST", "ISHST", "OSHST"}


def _fence(event: Event, kinds: set[str], ops: tuple[str, ...] = ("DMB", "DSB")) -> bool:
    if event.kind != "F" or not event.fence or event.fence == "ISB":
        return False
    op, option = event.fence.split(".", 1)
    return op in ops and option in kinds


class Sets:
    def __init__(self, x: Execution) -> None:
        ev = x.events
        self.R = lambda e: ev[e].kind == "R"
        self.W = lambda e: ev[e].kind == "W"
        self.M = lambda e: ev[e].kind in ("R", "W")
        self.A = lambda e: ev[e].acquire
        self.Q = lambda e: ev[e].acquire_pc
        self.L = lambda e: ev[e].release
        self.ISB = lambda e: ev[e].fence == "ISB"
        self.noret = lambda e: ev[e].noret  # reads of atomics whose result is discarded (NoRet)
        self.dmb_full = lambda e: _fence(ev[e], _FULL)
        self.dmb_ld = lambda e: _fence(ev[e], _LD)
        self.dmb_st = lambda e: _fence(ev[e], _ST)
        self.dsb_full = lambda e: _fence(ev[e], _FULL, ("DSB",))
        self.dsb_ld = lambda e: _fence(ev[e], _LD, ("DSB",))
        self.dsb_st = lambda e: _fence(ev[e], _ST, ("DSB",))
        self.tlbi_broadcast = lambda e: ev[e].kind == "T" and (ev[e].fence or "").endswith("IS")
        self.tlbi = lambda e: ev[e].kind == "T"
        self.device_thread = lambda e: ev[e].thread in x.devices
        self.endpoint = lambda e: ev[e].loc is not None and x.memtype.get(ev[e].loc, "Normal-iWB-oWB") != "Normal-iWB-oWB"
        self.no_early_ack = lambda e: ev[e].loc is not None and x.memtype.get(ev[e].loc) in ENDPOINT_TYPES_NO_EARLY_ACK
        self.non_reordering = lambda e: ev[e].loc is not None and x.memtype.get(ev[e].loc) in NON_REORDERING


# --- the relations ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Definition:
    name: str
    source: str
    compute: Callable[["Relations"], Rel]


class Relations:
    """Lazily evaluated named relations over one execution."""

    def __init__(self, x: Execution) -> None:
        self.x = x
        self.s = Sets(x)
        self._cache: dict[str, Rel] = {}
        ev = x.events
        self.same_loc = lambda a, b: ev[a].loc is not None and ev[a].loc == ev[b].loc
        self.same_thread = lambda a, b: ev[a].thread == ev[b].thread and ev[a].thread >= 0
        self.same_peripheral = lambda a, b: (ev[a].loc is not None and ev[b].loc is not None
                                             and x.peripheral.get(ev[a].loc) is not None
                                             and x.peripheral.get(ev[a].loc) == x.peripheral.get(ev[b].loc))

    def __getitem__(self, name: str) -> Rel:
        if name not in self._cache:
            self._cache[name] = DEFINITIONS[name].compute(self)
        return self._cache[name]


def _internal(r: Relations, rel: Rel) -> Rel:
    return frozenset(p for p in rel if r.same_thread(*p))


def _external(r: Relations, rel: Rel) -> Rel:
    return frozenset(p for p in rel if not r.same_thread(*p))


def _ids(r: Relations, pred: Callable[[int], bool]) -> Rel:
    return frozenset((e, e) for e in range(len(r.x.events)) if pred(e))


RELATIONS: tuple[Definition, ...] = (
    Definition("po", "program order", lambda r: r.x.po),
    Definition("rf", "reads-from", lambda r: r.x.rf),
    Definition("co", "coherence order", lambda r: r.x.co),
    Definition("fr", "from-reads: fr = rf^-1; co (B2.3.3)",
               lambda r: seq(frozenset((b, a) for a, b in r["rf"]), r["co"])),
    Definition("po-loc", "po restricted to the same location", lambda r: frozenset(p for p in r["po"] if r.same_loc(*p))),
    Definition("rfe", "external reads-from", lambda r: _external(r, r["rf"])),
    Definition("rfi", "internal reads-from", lambda r: _internal(r, r["rf"])),
    Definition("coe", "external coherence", lambda r: _external(r, r["co"])),
    Definition("fre", "external from-reads", lambda r: _external(r, r["fr"])),
    Definition("addr", "address dependency (B2.3.2 Dependency definitions)", lambda r: r.x.addr),
    Definition("data", "data dependency (B2.3.2)", lambda r: r.x.data),
    Definition("ctrl", "control dependency (B2.3.2)", lambda r: r.x.ctrl),
    Definition("rmw", "read-modify-write pairs: exclusives and atomics (B2.3.2)", lambda r: r.x.rmw),
    # Observed-by: accesses by different observers.  A peripheral that reads its own (endpoint)
    # location sees a write when it arrives, so "not yet seen" (fr from such a read) is governed by the
    # endpoint axiom, not by ob: ordered-before does not order arrival at different peripherals
    # (B2.10.2).  Having seen a write (rf) still means everything ob-before it is observed.
    Definition("obs", "Observed-by: rfe | coe | fre (B2.3.7)",
               lambda r: union(r["rfe"], r["coe"],
                               frozenset(p for p in r["fre"]
                                         if not (r.s.device_thread(p[0]) and r.s.endpoint(p[0]))))),
    Definition("dob", "Dependency-ordered-before (B2.3.7)", lambda r: union(
        r["addr"], r["data"],
        restrict(r["ctrl"], rng=r.s.W),
        restrict(seq(seq(union(r["ctrl"], seq(r["addr"], r["po"])), _ids(r, r.s.ISB)), r["po"]), rng=r.s.R),
        restrict(seq(r["addr"], r["po"]), rng=r.s.W),
        seq(union(r["addr"], r["data"]), r["rfi"]),
    )),
    Definition("aob", "Atomic-ordered-before (B2.3.7)", lambda r: union(
        r["rmw"],
        restrict(seq(_ids(r, lambda e: any(b == e for _, b in r["rmw"])), r["rfi"]),
                 rng=lambda e: r.s.A(e) or r.s.Q(e)),
    )),
    Definition("bob", "Barrier-ordered-before (B2.3.7)", lambda r: union(
        seq(seq(r["po"], _ids(r, r.s.dmb_full)), r["po"]),
        restrict(r["po"], dom=r.s.L, rng=r.s.A),
        restrict(seq(seq(r["po"], _ids(r, r.s.dmb_ld)), r["po"]), dom=lambda e: r.s.R(e) and not r.s.noret(e)),
        restrict(r["po"], dom=lambda e: r.s.A(e) or r.s.Q(e)),
        restrict(seq(seq(r["po"], _ids(r, r.s.dmb_st)), r["po"]), dom=r.s.W, rng=r.s.W),
        restrict(r["po"], rng=r.s.L),
    )),
    # A DSB waits for the accesses it orders to complete before any later instruction executes, so unlike a
    # DMB ST, a DSB ST also orders earlier writes before later reads (the full and LD forms order as their
    # DMBs do, in bob).  herd's aarch64hwreqs.cat "DSB-ob": [Exp & W]; po; [dsb.st]; po.
    Definition("dsb-ob", "DSB-ordered-before, the ST form: earlier writes before every later access (B2.3.7)",
               lambda r: restrict(seq(seq(r["po"], _ids(r, r.s.dsb_st)), r["po"]), dom=r.s.W, rng=r.s.M)),
    # A write is locally ordered after every earlier access to the same location on its PE, so it cannot
    # become visible to another observer before them (herd's aarch64.cat "let lws = po-loc; [W]", part of
    # lob and so of ob; single-copy-atomic accesses only, so lws; si is lws here).
    Definition("lws", "Local-write-successor: po-loc; [W] (B2.3.7)",
               lambda r: restrict(r["po-loc"], rng=r.s.W)),
    # A peripheral processes what arrives in order (memattr's model of an endpoint observer).
    Definition("devpo", "po of peripheral (device) threads", lambda r: restrict(r["po"], dom=r.s.device_thread)),
    Definition("ob", "Ordered-before: (obs | lws | dob | aob | bob | dsb-ob)+ (B2.3.7)",
               lambda r: union(r["obs"], r["lws"], r["dob"], r["aob"], r["bob"], r["dsb-ob"], r["devpo"])),
    # --- the endpoint extension: arrival at peripherals ---------------------------------------------
    Definition("lob", "Locally-ordered-before: (dob | aob | bob | dsb-ob)+ within a PE", lambda r: closure(
        frozenset(p for p in union(r["dob"], r["aob"], r["bob"], r["dsb-ob"]) if r.same_thread(*p)))),
    Definition("ab-nR", "arrival order of non-Reordering accesses to one peripheral (B2.10.2.2)",
               lambda r: frozenset(p for p in restrict(r["po"], dom=r.s.non_reordering, rng=r.s.non_reordering)
                                   if r.same_peripheral(*p) and not r.s.device_thread(p[0]))),
    Definition("ab-barrier", "ordered-before accesses to one peripheral arrive in order (B2.10.2 'a DMB "
               "instruction introduces a Barrier-ordered-before relation on all accesses to a single "
               "peripheral'; B2.10.1.3 likewise for Normal Non-cacheable)",
               lambda r: frozenset(p for p in restrict(r["lob"], dom=r.s.endpoint, rng=r.s.endpoint)
                                   if r.same_peripheral(*p))),
    Definition("ab-complete", "a DSB completes earlier accesses; completion is arrival for reads and for "
               "writes without Early Write Acknowledgement (B2.10.2.3; DSB completion, B2.3.11)",
               lambda r: union(
                   restrict(seq(seq(r["po"], _ids(r, r.s.dsb_full)), r["po"]),
                            dom=lambda e: r.s.endpoint(e) and (r.s.R(e) or r.s.no_early_ack(e)), rng=r.s.M),
                   restrict(seq(seq(r["po"], _ids(r, r.s.dsb_ld)), r["po"]),
                            dom=lambda e: r.s.endpoint(e) and r.s.R(e), rng=r.s.M),
                   restrict(seq(seq(r["po"], _ids(r, r.s.dsb_st)), r["po"]),
                            dom=lambda e: r.s.endpoint(e) and r.s.W(e) and r.s.no_early_ack(e), rng=r.s.M))),
    Definition("ab-tlbi", "broadcast TLB invalidation then DSB completes every access that used the old "
               "translation, on every PE (D8.17 TLB maintenance: RTSJSN, RDCJQM, RPSMWS); again completion is arrival "
               "only for reads and nE writes",
               lambda r: frozenset(
                   (e1, e2)
                   for t, dsb_then in _tlbi_dsb(r)
                   for e1 in range(len(r.x.events))
                   if r.s.endpoint(e1) and (r.s.R(e1) or r.s.no_early_ack(e1)) and not r.s.device_thread(e1)
                   and (r.x.events[e1].thread != r.x.events[t].thread or (e1, t) in r["po"])
                   and (r.x.events[t].thread == r.x.events[e1].thread or r.s.tlbi_broadcast(t))
                   for e2 in dsb_then)),
    Definition("co-ep", "coherence order of endpoint locations", lambda r: restrict(r["co"], dom=r.s.endpoint)),
    Definition("ab", "arrives-before at peripherals", lambda r: union(
        r["ab-nR"], r["ab-barrier"], r["ab-complete"], r["ab-tlbi"])),
    Definition("endpoint", "what peripherals observe: ab | devpo | rf | fr | co on endpoint locations",
               lambda r: union(r["ab"], r["devpo"], r["co-ep"],
                               restrict(r["rf"], rng=lambda e: r.s.device_thread(e) and r.s.endpoint(e)),
                               restrict(r["fr"], dom=lambda e: r.s.device_thread(e) and r.s.endpoint(e)))),
)

DEFINITIONS = {d.name: d for d in RELATIONS}


def _tlbi_dsb(r: Relations) -> list[tuple[int, list[int]]]:
    """(TLBI event, memory events after a following full DSB in the same thread)."""
    out = []
    po = r["po"]
    for t in range(len(r.x.events)):
        if not r.s.tlbi(t):
            continue
        dsbs = [d for (a, d) in po if a == t and r.s.dsb_full(d)]
        after = sorted({e for d in dsbs for (a, e) in po if a == d and r.s.M(e)})
        out.append((t, after))
    return out


@dataclass(frozen=True)
class Axiom:
    name: str
    source: str
    holds: Callable[[Relations], bool]


AXIOMS: tuple[Axiom, ...] = (
    Axiom("internal", "Internal visibility requirement: acyclic po-loc | fr | co | rf (B2.3.7)",
          lambda r: acyclic(union(r["po-loc"], r["fr"], r["co"], r["rf"]))),
    Axiom("external", "External visibility requirement: acyclic ob (B2.3.7)", lambda r: acyclic(r["ob"])),
    Axiom("atomic", "Atomicity: empty rmw & (fre; coe) (B2.3.7)",
          lambda r: not (r["rmw"] & seq(r["fre"], r["coe"]))),
    Axiom("endpoint", "memattr endpoint axiom: acyclic ab | devpo | rf | fr | co at peripherals "
          "(B2.10.1, B2.10.2, D8.17)", lambda r: acyclic(r["endpoint"])),
)


def check(x: Execution) -> tuple[bool, Relations, str | None]:
    relations = Relations(x)
    for axiom in AXIOMS:
        if not axiom.holds(relations):
            return False, relations, axiom.name
    return True, relations, None
