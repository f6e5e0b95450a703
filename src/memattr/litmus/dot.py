"""One execution as a Graphviz picture, like herd7's -show: threads side by side, events in program order
down each column, and po, rf, co, fr and arrival (ab) edges; the locations' memory types and the test's
condition in the caption; for a forbidden test, the cycle that rules the execution out drawn bold."""

from __future__ import annotations

from typing import Iterable

from memattr.litmus.ast import LocationAttrs
from memattr.litmus.model import Relations


# The named orderings a cycle edge may come from, most specific first (memattr.litmus.model.RELATIONS).
_ORDERINGS = ("bob", "dob", "aob", "lws", "dsb-ob", "devpo", "ab-po", "ab-ob", "ab-bob", "ab-complete", "ab-tlbi",
              "po-loc")


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(name: str, r: Relations, *, caption: Iterable[str] = (), cycle: Iterable[int] = ()) -> str:
    x = r.x
    events = x.events
    nodes = list(cycle)
    in_cycle = {(nodes[i], nodes[(i + 1) % len(nodes)]) for i in range(len(nodes))} if nodes else set()
    label = "\\l".join(_quote(line) for line in (name, *caption)) + "\\l"
    lines = [f'digraph "{_quote(name)}" {{',
             f'  newrank=true; rankdir=TB; labelloc=t; labeljust=l; label="{label}";',
             '  node [shape=box, fontname="monospace", fontsize=10];']
    threads = sorted({e.thread for e in events if e.thread >= 0})
    columns: dict[int, list[int]] = {t: [n for n, e in enumerate(events) if e.thread == t] for t in threads}
    for thread in threads:
        kind = "device" if thread in x.devices else "PE"
        lines.append(f'  subgraph cluster_{thread} {{ label="P{thread} ({kind})";')
        for n in columns[thread]:
            event = events[n]
            lines.append(f'    e{n} [label="{chr(97 + n % 26)}: {_quote(event.label())}\\n{_quote(event.instr)}"];')
        for a, b in zip(columns[thread], columns[thread][1:]):  # the column, in program order
            lines.append(f'    e{a} -> e{b} [label="po"{", penwidth=3" if (a, b) in in_cycle else ""}];')
        lines.append("  }")
    depth = max((len(c) for c in columns.values()), default=0)
    for row in range(depth):  # the k-th event of every thread on one row: threads side by side
        same = " ".join(f"e{columns[t][row]};" for t in threads if row < len(columns[t]))
        lines.append(f"  {{ rank=same; {same} }}")
    inits = [n for n, e in enumerate(events) if e.thread < 0]
    for n in inits:
        lines.append(f'  e{n} [label="init {_quote(str(events[n].loc))}={events[n].value}", style=dashed];')
    if inits:
        lines.append(f"  {{ rank=min; {' '.join(f'e{n};' for n in inits)} }}")
    styles = (("rf", "red", "rf"), ("co", "blue", "co"), ("fr", "orange", "fr"), ("ab", "darkgreen", "arrives-before"))
    drawn = set()
    for rel, colour, text in styles:
        for a, b in sorted(r[rel]):
            if rel == "co" and events[a].thread < 0:
                continue
            drawn.add((a, b))
            bold = ", penwidth=3" if (a, b) in in_cycle else ""
            lines.append(f'  e{a} -> e{b} [color={colour}, fontcolor={colour}, label="{text}", constraint=false{bold}];')
    po_pairs = {(a, b) for col in columns.values() for a, b in zip(col, col[1:])}
    for a, b in sorted(in_cycle - drawn - po_pairs):  # cycle edges no base relation shows: name the ordering
        why = next((rel for rel in _ORDERINGS if (a, b) in r[rel]), "ob")
        lines.append(f'  e{a} -> e{b} [color=purple, fontcolor=purple, label="{why}", style=bold, constraint=false];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def caption_for(attrs: dict[str, LocationAttrs], condition: str) -> list[str]:
    """The caption lines: each location's memory type (and peripheral) and the condition."""
    lines = [f"{loc}: {a.memtype}" + (f" @ {a.peripheral}" if a.peripheral else "") for loc, a in sorted(attrs.items())]
    return [*lines, condition]
