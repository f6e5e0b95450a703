"""One execution as a Graphviz picture, like herd7's -show: events per thread, po, rf, co, fr, ab."""

from __future__ import annotations

from memattr.litmus.model import Relations


def to_dot(name: str, r: Relations) -> str:
    x = r.x
    lines = [f'digraph "{name}" {{', '  rankdir=TB; node [shape=box, fontname="monospace", fontsize=10];']
    threads = sorted({e.thread for e in x.events if e.thread >= 0})
    for thread in threads:
        kind = "device" if thread in x.devices else "PE"
        lines.append(f'  subgraph cluster_{thread} {{ label="P{thread} ({kind})";')
        for n, event in enumerate(x.events):
            if event.thread == thread:
                lines.append(f'    e{n} [label="{chr(97 + n % 26)}: {event.label()}\\n{event.instr}"];')
        lines.append("  }")
    for n, event in enumerate(x.events):
        if event.thread < 0:
            lines.append(f'  e{n} [label="init {event.loc}={event.value}", style=dashed];')
    styles = (("po", "black", "po"), ("rf", "red", "rf"), ("co", "blue", "co"), ("fr", "orange", "fr"),
              ("ab", "darkgreen", "arrives-before"))
    immediate_po = {(a, b) for a, b in x.po if not any((a, c) in x.po and (c, b) in x.po for c in range(len(x.events)))}
    for rel, colour, label in styles:
        pairs = immediate_po if rel == "po" else r[rel]
        for a, b in sorted(pairs):
            if rel == "co" and x.events[a].thread < 0:
                continue
            lines.append(f'  e{a} -> e{b} [color={colour}, fontcolor={colour}, label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"
