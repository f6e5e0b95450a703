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

# The memory types of DDI0487 M.a.a B2.4.1.1 "Peripheral arrival order" (each rule names the types of both
# effects) and of B2.4.1's completion rule for Device-nGnRnE.
NO_EARLY_ACK = {"Device-nGnRnE"}
NON_REORDERING = {"Device-nGnRnE", "Device-nGnRE"}
NON_GATHERING = {"Device-nGnRnE", "Device-nGnRE", "Device-nGRE"}
DEVICE_OR_NC = {"Device-nGnRnE", "Device-nGnRE", "Device-nGRE", "Device-GRE", "Normal-iNC-oNC"}

# What a device test's verdict may rest on beyond the rules themselves: the IMPLEMENTATION DEFINED and
# system properties the arrival rules need.  The model applies the ones in ``CHECKED`` only when asked
# (all by default), so a run can tell which of them a verdict needs; the others hold for every device test.
ASSUMPTIONS = {
    "peripheral": "the locations given one peripheral (@ name) lie in one Memory-mapped peripheral, whose size is "
                  "IMPLEMENTATION DEFINED (B2.4.1.1)",
    "xs": "FEAT_XS is not implemented, or the Device-nGnRE/nGnRnE accesses to one peripheral have the same XS "
          "attribute (B2.4.1.1; with different XS their arrival order is not defined)",
    "outer-shareable": "the peripheral observes within the Outer Shareable domain of the PEs, so their barriers "
                       "and completions apply to it",
    "nE-ack": "the endpoint itself acknowledges a Device-nGnRnE write, so its completion is its arrival (B2.4.1); "
              "on PCIe a posted write is acknowledged before it reaches the device",
    "read-arrival": "a completed read of the peripheral has arrived at it: its data comes from the endpoint, and "
                    "on PCIe a read completion does not pass earlier posted writes (the Arm ARM ties completion "
                    "to arrival only for Device-nGnRnE, B2.4.1)",
    "old-translation": "the other PEs' accesses used the translation the TLB invalidation removes: the test has "
                       "no page-table write, so which translation they used is not in it (B2.4.1: a TLB "
                       "invalidation completes the accesses that used the invalidated entries)",
}
CHECKED = frozenset({"nE-ack", "read-arrival", "old-translation"})


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
    tr: Rel = frozenset()  # (translation table read, the access it translates), for tests with PTE(x)


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
    """The transitive closure of ``rel``."""
    return _reach(rel, lambda e: True)


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
        typed = lambda types: lambda e: ev[e].loc is not None and x.memtype.get(ev[e].loc) in types  # noqa: E731
        self.no_early_ack = typed(NO_EARLY_ACK)
        self.non_reordering = typed(NON_REORDERING)
        self.non_gathering = typed(NON_GATHERING)
        self.device_or_nc = typed(DEVICE_OR_NC)
        # A PE's access to a peripheral (the device threads' own accesses are observations at the endpoint).
        self.pe_endpoint = lambda e: self.endpoint(e) and self.M(e) and ev[e].thread >= 0 and not self.device_thread(e)


# --- the relations ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Definition:
    name: str
    source: str
    compute: Callable[["Relations"], Rel]


class Relations:
    """Lazily evaluated named relations over one execution."""

    def __init__(self, x: Execution, assume: frozenset[str] = CHECKED) -> None:
        self.x = x
        self.s = Sets(x)
        self.assume = assume
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
    # (B2.4.1.1).  Having seen a write (rf) still means everything ob-before it is observed.
    # The other access of a single-copy-atomic pair: an exclusive pair's two reads, or its two writes (herd's
    # aarch64util.cat sca-class, here without the identity its uses add as "sca-class?").
    Definition("sca", "single-copy-atomic class: the accesses that make one access (an LDXP's or an STXP's two, a "
               "mixed-size access's cells; B2.2, single-copy atomicity)", lambda r: _sca(r)),
    # Observing one access of a single-copy-atomic pair observes the pair (herd's "Exp-obs; sca-class?").
    Definition("obs", "Observed-by: (rfe | coe | fre); sca-class? (B2.3.7)",
               lambda r: _then_sca(r, union(r["rfe"], r["coe"], frozenset(
                   p for p in r["fre"] if not (r.s.device_thread(p[0]) and r.s.endpoint(p[0])))))),
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
    # lob and so of ob, with "lwfs; sca-class": the write's single-copy-atomic partner comes after too).
    Definition("lws", "Local-write-successor: po-loc; [W]; sca-class? (B2.3.7)",
               lambda r: _then_sca(r, restrict(r["po-loc"], rng=r.s.W))),
    # A peripheral processes what arrives in order (memattr's model of an endpoint observer).
    Definition("devpo", "po of peripheral (device) threads", lambda r: restrict(r["po"], dom=r.s.device_thread)),
    Definition("ob", "Ordered-before: (obs | lws | dob | aob | bob | dsb-ob)+ (B2.3.7)",
               lambda r: union(r["obs"], r["lws"], r["dob"], r["aob"], r["bob"], r["dsb-ob"], r["devpo"])),
    Definition("ob+", "Ordered-before, transitively", lambda r: closure(r["ob"])),
    Definition("lob", "Locally-ordered-before: (dob | aob | bob | dsb-ob)+ within a PE", lambda r: closure(
        frozenset(p for p in union(r["dob"], r["aob"], r["bob"], r["dsb-ob"]) if r.same_thread(*p)))),
    # --- the endpoint extension: arrival at peripherals ---------------------------------------------
    # DDI0487 M.a.a B2.4.1.1 "Peripheral arrival order": E1 arrives at a peripheral before E2 (and the two
    # are not gathered) when (a) both are Device-nGnRE/nGnRnE and E1 is program-order before E2; (b) both
    # are Device-nGRE/nGnRE/nGnRnE and E1 is Ordered-before E2; (c) both are Device or Normal
    # Non-cacheable and E1 is Barrier-ordered-before E2.  Otherwise they may arrive in either order or be
    # gathered.  One relation per rule:
    Definition("ab-po", "B2.4.1.1 (a): Device-nGnRE/nGnRnE accesses to one peripheral arrive in program order",
               lambda r: frozenset(p for p in restrict(r["po"], dom=r.s.non_reordering, rng=r.s.non_reordering)
                                   if r.same_peripheral(*p) and r.s.pe_endpoint(p[0]) and r.s.pe_endpoint(p[1]))),
    Definition("ab-ob", "B2.4.1.1 (b): Device-nGRE/nGnRE/nGnRnE accesses to one peripheral arrive in "
               "Ordered-before order (ob+, which can run through other PEs)",
               lambda r: frozenset(p for p in _reach(r["ob"], lambda e: r.s.pe_endpoint(e) and r.s.non_gathering(e))
                                   if r.same_peripheral(*p) and r.s.pe_endpoint(p[1]) and r.s.non_gathering(p[1])
                                   and p[0] != p[1])),
    Definition("ab-bob", "B2.4.1.1 (c): Device and Normal Non-cacheable accesses to one peripheral arrive in "
               "Barrier-ordered-before order",
               lambda r: frozenset(p for p in restrict(r["bob"], dom=r.s.device_or_nc, rng=r.s.device_or_nc)
                                   if r.same_peripheral(*p) and r.s.pe_endpoint(p[0]) and r.s.pe_endpoint(p[1]))),
    # Completion (B2.4.1) and the DSB that waits for it (B2.6.9): a completed access has arrived when it is a
    # Device-nGnRnE read or write (B2.4.1: complete only when it can begin to affect the peripheral; for a
    # write, assuming the endpoint gives the acknowledgement), or a read, assuming reads are served by the
    # endpoint.  Every later access of the PE comes after it.
    Definition("ab-complete", "B2.4.1 completion, B2.6.9 DSB: an access that a DSB completes has arrived before "
               "anything after the DSB, when its completion is its arrival",
               lambda r: union(
                   restrict(seq(seq(r["po"], _ids(r, r.s.dsb_full)), r["po"]),
                            dom=lambda e: _complete_is_arrival(r, e), rng=r.s.M),
                   restrict(seq(seq(r["po"], _ids(r, r.s.dsb_ld)), r["po"]),
                            dom=lambda e: r.s.R(e) and _complete_is_arrival(r, e), rng=r.s.M),
                   restrict(seq(seq(r["po"], _ids(r, r.s.dsb_st)), r["po"]),
                            dom=lambda e: r.s.W(e) and _complete_is_arrival(r, e), rng=r.s.M))),
    # B2.4.1: "A TLB invalidate instruction is complete when all memory accesses using the TLB entries that
    # have been invalidated are complete"; a broadcast TLBI (the IS forms, D8.17) followed by a DSB on one PE
    # so completes other PEs' accesses, but only those that used the invalidated translation.
    Definition("ab-tlbi", "B2.4.1 TLB invalidation completes the accesses that used the invalidated entries; "
               "with a DSB after it (B2.6.9), those that arrive at completion precede what follows",
               lambda r: frozenset(
                   (e1, e2)
                   for t, dsb_then in tlbi_dsb(r)
                   for e1 in range(len(r.x.events))
                   if r.s.pe_endpoint(e1) and _complete_is_arrival(r, e1) and _used_old_translation(r, e1, t)
                   and (r.x.events[e1].thread != r.x.events[t].thread or (e1, t) in r["po"])
                   and (r.x.events[t].thread == r.x.events[e1].thread or r.s.tlbi_broadcast(t))
                   for e2 in dsb_then)),
    Definition("co-ep", "coherence order of endpoint locations", lambda r: restrict(r["co"], dom=r.s.endpoint)),
    Definition("ab", "arrives-before at peripherals", lambda r: union(
        r["ab-po"], r["ab-ob"], r["ab-bob"], r["ab-complete"], r["ab-tlbi"])),
    # A peripheral sees a PE's write once it has arrived, and a PE's read of a register the peripheral writes
    # returns what the register holds when the read arrives: rf and fr between device threads and PEs.
    Definition("endpoint", "what peripherals observe: ab | devpo | rf | fr | co on endpoint locations",
               lambda r: union(r["ab"], r["devpo"], r["co-ep"],
                               restrict(r["rf"], rng=lambda e: r.s.device_thread(e) and r.s.endpoint(e)),
                               restrict(r["fr"], dom=lambda e: r.s.device_thread(e) and r.s.endpoint(e)),
                               restrict(r["rf"], dom=r.s.device_thread, rng=r.s.pe_endpoint),
                               restrict(r["fr"], dom=r.s.pe_endpoint, rng=r.s.device_thread))),
)

DEFINITIONS = {d.name: d for d in RELATIONS}


def _then_sca(r: "Relations", rel: Rel) -> Rel:
    """rel; sca-class?: an edge to one access of a single-copy-atomic class reaches every access of it."""
    return union(rel, seq(rel, r["sca"]))


def _sca(r: "Relations") -> Rel:
    classes: dict[tuple[int, int, str, int], list[int]] = {}
    for e, event in enumerate(r.x.events):
        if event.sca and event.group is not None:
            classes.setdefault((event.thread, event.group, event.kind, event.part), []).append(e)
    return frozenset((a, b) for members in classes.values() for a in members for b in members if a != b)


def _reach(rel: Rel, start: Callable[[int], bool]) -> Rel:
    """The pairs of ``rel``'s transitive closure whose first element satisfies ``start``."""
    succ: dict[int, list[int]] = {}
    for a, b in rel:
        succ.setdefault(a, []).append(b)
    out = set()
    for source in succ:
        if not start(source):
            continue
        seen: set[int] = set()
        stack = list(succ[source])
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            stack.extend(succ.get(node, ()))
        out.update((source, node) for node in seen)
    return frozenset(out)


def _complete_is_arrival(r: Relations, e: int) -> bool:
    """Whether a completed access to a peripheral has arrived there (B2.4.1), under the run's assumptions."""
    if not r.s.pe_endpoint(e):
        return False
    if r.s.no_early_ack(e):
        return r.s.R(e) or "nE-ack" in r.assume
    return r.s.R(e) and "read-arrival" in r.assume


def _used_old_translation(r: Relations, e: int, tlbi: int) -> bool:
    """Whether access ``e`` used a translation that TLBI ``tlbi`` invalidates: its translation table read
    read an entry that a write program-order before the TLBI (on the TLBI's PE) overwrote, i.e. the read is
    from-read before that write.  A test without PTE(x) for the location does not say: that is the
    assumption "old-translation" (docs/litmus.md)."""
    reads = [d for d, access in r.x.tr if access == e]
    if not reads:
        return "old-translation" in r.assume
    events = r.x.events
    entry = events[reads[0]].loc
    overwritten = [w for w in range(len(events))
                   if events[w].kind == "W" and events[w].loc == entry and (w, tlbi) in r["po"]]
    return any((reads[0], w) in r["fr"] for w in overwritten)


def tlbi_dsb(r: Relations) -> list[tuple[int, list[int]]]:
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
          "(B2.4.1.1 Peripheral arrival order, B2.4.1 completion)", lambda r: acyclic(r["endpoint"])),
)


def find_cycle(rel: Rel) -> list[int]:
    """A shortest cycle of ``rel`` as its nodes in order (empty when acyclic)."""
    succ: dict[int, list[int]] = {}
    for a, b in rel:
        succ.setdefault(a, []).append(b)
    best: list[int] = []
    for start in sorted(succ):
        parent = {start: -1}
        queue = [start]
        found = None
        while queue and found is None:
            nxt = []
            for node in queue:
                for child in sorted(succ.get(node, ())):
                    if child == start:
                        found = node
                        break
                    if child not in parent:
                        parent[child] = node
                        nxt.append(child)
                if found is not None:
                    break
            queue = nxt
        if found is None:
            continue
        path = [found]
        while path[-1] != start:
            path.append(parent[path[-1]])
        path.reverse()
        if not best or len(path) < len(best):
            best = path
    return best


# The relation each axiom requires to be acyclic (the atomicity axiom is an emptiness check).
AXIOM_RELATIONS: dict[str, Callable[["Relations"], Rel]] = {
    "internal": lambda r: union(r["po-loc"], r["fr"], r["co"], r["rf"]),
    "external": lambda r: r["ob"],
    "endpoint": lambda r: r["endpoint"],
}


def violations(x: Execution, assume: frozenset[str] = CHECKED) -> tuple[Relations, list[tuple[str, list[int]]]]:
    """Every axiom an execution breaks, each with a shortest cycle (for atomicity, the read and write of
    the rmw pair that another write comes between)."""
    relations = Relations(x, assume)
    broken = []
    for axiom in AXIOMS:
        if axiom.holds(relations):
            continue
        if axiom.name == "atomic":
            pair = sorted(relations["rmw"] & seq(relations["fre"], relations["coe"]))[0]
            broken.append((axiom.name, list(pair)))
        else:
            broken.append((axiom.name, find_cycle(AXIOM_RELATIONS[axiom.name](relations))))
    return relations, broken


# herd7's flags (herd/libdir/aarch64fences.cat): "flag ~empty (dmb.full | dmb.ld | dmb.st) \\ (DMB.SY | DMB.LD |
# DMB.ST | DSB.SY | DSB.LD | DSB.ST) as Assuming-common-inner-shareable-domain".  The model treats every barrier
# as if all PEs shared one Inner Shareable domain; an allowed execution with a barrier that names a domain
# (ISH, OSH, NSH and their LD/ST forms) says that it rests on that assumption.
_FULL_SYSTEM = {"SY", "LD", "ST"}


def flags(x: Execution) -> tuple[str, ...]:
    """The herd7 flags an execution raises."""
    for event in x.events:
        if event.kind == "F" and event.fence and event.fence.startswith(("DMB.", "DSB.")) \
                and event.fence.split(".", 1)[1] not in _FULL_SYSTEM:
            return ("Assuming-common-inner-shareable-domain",)
    return ()


def check(x: Execution, assume: frozenset[str] = CHECKED) -> tuple[bool, Relations, str | None]:
    relations = Relations(x, assume)
    for axiom in AXIOMS:
        if not axiom.holds(relations):
            return False, relations, axiom.name
    return True, relations, None
