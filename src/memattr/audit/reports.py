"""Rendering of audit results: text (rich), JSON, SARIF 2.1.0 and a self-contained HTML page.

Rendering is last and separate: every renderer takes an :class:`AuditResult` and returns text.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from memattr import __version__
from memattr.audit.engine import AuditResult, RegionResult
from memattr.audit.rules import RULES, Severity
from memattr.output import to_json

FORMATS = ("text", "json", "sarif", "html")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/memattr/memattr"


def render(result: AuditResult, fmt: str, *, width: int = 120) -> str:
    if fmt == "text":
        return render_text(result, width=width)
    if fmt == "json":
        return to_json(result.to_json())
    if fmt == "sarif":
        return to_json(render_sarif([result]))
    if fmt == "html":
        return render_html(result)
    raise ValueError(f"unknown format {fmt!r}")


def render_text(result: AuditResult, *, width: int = 120) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, highlight=False, force_terminal=False, color_system=None)
    console.print(f"host {result.host}: kernel {result.kernel or 'unknown'}, policy {result.policy}, "
                  f"FEAT_S2FWB {_fwb(result.fwb)}, guest map {result.guest_map}")
    for reason in result.detection.get("reasons", []):
        console.print(f"  policy: {reason}")
    for warning in result.warnings:
        console.print(f"  warning: {warning}")
    narrow = width < 150  # eight columns need about 150; below, kind and guest call go under the name
    # Narrow terminals: no vertical rules, memory types and hex addresses whole, the rest wraps.
    table = Table(title="regions", show_lines=narrow, box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD,
                  padding=(0, 1), pad_edge=not narrow)
    address_width = max([len(f"{r.subject.region.end:#x}") for r in result.regions] + [len("range")])
    table.add_column("region" + (" / kind / guest call" if narrow else ""), overflow="fold", ratio=1)
    table.add_column("range", no_wrap=True, min_width=address_width)
    if not narrow:
        table.add_column("kind", overflow="fold")
        table.add_column("guest call", overflow="fold")
    type_column = {"no_wrap": True, "min_width": 14}  # memory type names never break
    table.add_column("host/VMM" if narrow else "host alias", **type_column)  # type: ignore[arg-type]
    if not narrow:
        table.add_column("VMM alias", **type_column)  # type: ignore[arg-type]
    table.add_column("stage 2", **type_column)  # type: ignore[arg-type]
    table.add_column("guest gets", **type_column)  # type: ignore[arg-type]
    for region in result.regions:
        subject = region.subject
        aliases = {a.who.split(" (")[0]: a.memory_type for a in subject.aliases}
        host, vmm = aliases.get("host kernel", "-"), aliases.get("VMM", "-")
        span = (f"{subject.region.start:#x}\n{subject.region.end:#x}" if narrow else
                f"{subject.region.start:#x}-{subject.region.end:#x}")
        effective = subject.effective.memory_type or "refused"
        depends = subject.effective.depends_on_fwb
        if depends:
            effective = f"{depends[0]} (no FWB) / {depends[1]} (FWB)"
        stage2 = subject.stage2.memory_type or "refused"
        if narrow:
            table.add_row(f"{subject.region.name}\n{subject.region.kind}\n{subject.guest_call}", span,
                          f"{host}\n{vmm}", stage2, effective)
        else:
            table.add_row(subject.region.name, span, subject.region.kind, subject.guest_call, host, vmm, stage2,
                          effective)
    console.print(table)
    spans = {r.subject.region.name: f"{r.subject.region.start:#x}-{r.subject.region.end:#x}" for r in result.regions}
    findings = result.findings
    if not findings:
        console.print("no findings")
    else:
        ftable = Table(title=f"findings ({len(findings)})", show_lines=narrow)
        for column in ("severity", "rule", "region", "finding"):
            ftable.add_column(column, overflow="fold")
        order = sorted(findings, key=lambda f: (-f.severity.rank, f.rule, f.region))
        for finding in order:
            ftable.add_row(finding.severity.value, finding.rule, f"{finding.region}\n{spans.get(finding.region, '')}",
                           finding.message)
        console.print(ftable)
    counts = ", ".join(f"{sum(1 for f in findings if f.severity is s)} {s.value}" for s in reversed(Severity))
    console.print(f"{_plural(len(result.regions), 'region')}, {_plural(len(findings), 'finding')} ({counts})")
    return buffer.getvalue()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def render_sarif(results: list[AuditResult]) -> dict[str, Any]:
    """SARIF 2.1.0: one run, the rules as reportingDescriptors, one result per finding."""
    rules = [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.explanation},
            "defaultConfiguration": {"level": rule.severity.value},
            "help": {"text": rule.explanation},
        }
        for rule in RULES
    ]
    index = {rule.id: n for n, rule in enumerate(RULES)}
    sarif_results = []
    artifacts: dict[str, int] = {}
    for result in results:
        for region in result.regions:
            for finding in region.findings:
                location: dict[str, Any] = {
                    "logicalLocations": [{"name": finding.region, "kind": "resource",
                                          "fullyQualifiedName": f"{result.host}/{finding.region}"}],
                }
                physical = _physical_location(region, artifacts)
                if physical:
                    location["physicalLocation"] = physical
                sarif_results.append({
                    "ruleId": finding.rule,
                    "ruleIndex": index[finding.rule],
                    "level": finding.severity.value,
                    "message": {"text": f"{finding.region}: {finding.message}"},
                    "locations": [location],
                    "properties": {"host": result.host, "evidence": list(finding.evidence),
                                   "policy": result.policy},
                })
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "memattr", "version": __version__, "informationUri": INFO_URI,
                            "rules": rules}},
        "results": sarif_results,
    }
    if artifacts:
        run["artifacts"] = [{"location": {"uri": uri}} for uri in artifacts]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _physical_location(region: RegionResult, artifacts: dict[str, int]) -> dict[str, Any] | None:
    for source in region.subject.region.sources:
        path, _, line = source.rpartition(":")
        if not path or not (line.isascii() and line.isdigit()):
            path, line = source, ""
        uri = path.replace("\\", "/")
        artifacts.setdefault(uri, len(artifacts))
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "index": artifacts[uri]}}
        if line:
            physical["region"] = {"startLine": int(line)}
        return physical
    return None


# --- HTML -----------------------------------------------------------------------------------------

_COLOURS = {"Device": "#f4b183", "Normal-iNC-oNC": "#9dc3e6", "Normal": "#a9d18e", None: "#d9d9d9"}
_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:22px} h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0} td,th{border:1px solid #bbb;padding:4px 8px;font-size:13px;text-align:left}
th{background:#eee} .error{color:#b00020;font-weight:600} .warning{color:#a35c00;font-weight:600} .note{color:#555}
.region{border:1px solid #ccc;border-radius:6px;padding:8px 14px;margin:14px 0}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border-radius:4px;font-size:12px}
"""


def _colour(memory_type: str | None) -> str:
    if memory_type is None:
        return _COLOURS[None]
    if memory_type.startswith("Device"):
        return _COLOURS["Device"]
    if memory_type == "Normal-iNC-oNC":
        return _COLOURS["Normal-iNC-oNC"]
    return _COLOURS["Normal"]


def _chain_svg(region: RegionResult) -> str:
    """The region as a picture: the host's aliases of the physical page in one row, the guest's
    translation (stage 1, stage 2, what it gets) in another, every box coloured by its memory type."""
    subject = region.subject
    e = html.escape
    host_boxes = [(a.who, a.how, a.memory_type) for a in subject.aliases if a.who != "guest"]
    guest = next((a for a in subject.aliases if a.who == "guest"), None)
    found = re.search(r"stage 1 (0x[0-9a-f]{2})", guest.how) if guest else None
    s1_byte = found.group(1) if found else None
    s1_type = None
    if s1_byte:
        from memattr.arch.mair import decode_mair_attr

        s1_type = getattr(decode_mair_attr(int(s1_byte, 16), frozenset({"XS", "MTE2"})), "short_name", None)
    prot = (subject.stage2.prot or "refused").replace("KVM_PGTABLE_", "")
    memattr = f"{subject.stage2.memattr:#06b}" if subject.stage2.memattr is not None else ""
    guest_boxes = [
        ("guest stage 1", f"{subject.guest_call}" + (f", MAIR {s1_byte}" if s1_byte else ""), s1_type),
        ("KVM stage 2", f"{prot} {memattr}".strip(), subject.stage2.memory_type),
        ("guest gets", "", subject.effective.memory_type),
    ]
    box_w, line_h, gap, pad = 220, 16, 30, 8
    page_w = 190

    def box(x: int, y: int, title: str, how: str, memory_type: str | None) -> tuple[str, int]:
        lines = [(title, "600", 12)] + ([(how, "400", 11)] if how else []) + \
            [(memory_type or ("refused" if title in ("KVM stage 2", "guest gets") else "unknown"), "400", 12)]
        height = pad * 2 + line_h * len(lines)
        text = "".join(f'<text x="{x + 8}" y="{y + pad + line_h * (n + 1) - 4}" font-size="{size}" '
                       f'font-weight="{weight}">{e(value)}</text>' for n, (value, weight, size) in enumerate(lines))
        return (f'<rect x="{x}" y="{y}" width="{box_w}" height="{height}" rx="8" fill="{_colour(memory_type)}" '
                f'stroke="#555"/>' + text), height

    def arrow(x1: float, y1: float, x2: float, y2: float, dashed: bool = False) -> str:
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333" stroke-width="2"{dash} '
                f'marker-end="url(#arrow)"/>')

    parts: list[str] = []
    # The host's aliases, one under the other, each pointing at the physical page on the right.
    y = 26
    centres = []
    for title, how, memory_type in host_boxes:
        svg, height = box(4, y, title, how, memory_type)
        parts.append(svg)
        centres.append(y + height / 2)
        y += height + 10
    aliases_bottom = y - 10 if host_boxes else 26
    page_x = 4 + max(1, len(guest_boxes)) * (box_w + gap)
    page_y = 26
    page_h = max(aliases_bottom - page_y, 56)
    parts.append(f'<rect x="{page_x}" y="{page_y}" width="{page_w}" height="{page_h}" fill="#fff" '
                 f'stroke="#222" stroke-width="2"/>'
                 f'<text x="{page_x + 8}" y="{page_y + 20}" font-size="12" font-weight="600">physical page</text>'
                 f'<text x="{page_x + 8}" y="{page_y + 38}" font-size="11">{subject.region.start:#x}</text>')
    for centre in centres:
        parts.append(arrow(4 + box_w + 2, centre, page_x - 4, centre, dashed=True))
    # The guest's translation chain below, ending at the same page.
    y2 = page_y + page_h + 40
    heights = []
    for n, (title, how, memory_type) in enumerate(guest_boxes):
        svg, height = box(4 + n * (box_w + gap), y2, title, how, memory_type)
        parts.append(svg)
        heights.append(height)
    row_mid = y2 + 24
    for n in range(len(guest_boxes) - 1):
        x = 4 + n * (box_w + gap) + box_w
        parts.append(arrow(x + 2, row_mid, x + gap - 4, row_mid))
    last_x = 4 + (len(guest_boxes) - 1) * (box_w + gap) + box_w
    parts.append(arrow(last_x + 2, row_mid, page_x + page_w / 2, page_y + page_h + 4))
    row_h = max(heights)
    width = page_x + page_w + 8
    total_h = y2 + row_h + 8
    labels = (f'<text x="4" y="16" font-size="11" fill="#555">aliases of the page (host kernel, VMM)</text>'
              f'<text x="4" y="{y2 - 8}" font-size="11" fill="#555">the guest\'s translation</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_h}" role="img" '
            f'aria-label="mapping chain of {e(subject.region.name)}">'
            '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="6" refY="4" orient="auto">'
            '<path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>' + labels + "".join(parts) + "</svg>")


def render_html(result: AuditResult) -> str:
    e = html.escape
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>memattr audit: {e(result.host)}"
           f"</title><style>{_CSS}</style></head><body>"]
    out.append(f"<h1>memattr audit of {e(result.host)}</h1>")
    out.append(f"<p>kernel {e(result.kernel or 'unknown')}, policy <b>{e(result.policy)}</b>, FEAT_S2FWB "
               f"{_fwb(result.fwb)}, guest map {e(result.guest_map)}; "
               f"{len(result.regions)} regions, {len(result.findings)} findings.</p>")
    out.append("<p class='legend'>" + "".join(
        f"<span style='background:{colour}'>{e(name or 'refused/unknown')}</span>"
        for name, colour in (("Device", _COLOURS["Device"]), ("Normal-iNC-oNC", _COLOURS["Normal-iNC-oNC"]),
                             ("Normal cacheable", _COLOURS["Normal"]), (None, _COLOURS[None]))) + "</p>")
    for warning in result.warnings:
        out.append(f"<p class='warning'>warning: {e(warning)}</p>")
    for region in result.regions:
        subject = region.subject
        out.append("<div class='region'>")
        out.append(f"<h2>{e(subject.region.name)} <small>{subject.region.start:#x}-{subject.region.end:#x} "
                   f"({e(subject.region.title)})</small></h2>")
        out.append(_chain_svg(region))
        if region.findings:
            out.append("<table><tr><th>severity</th><th>rule</th><th>finding</th></tr>")
            for finding in region.findings:
                out.append(f"<tr><td class='{finding.severity.value}'>{finding.severity.value}</td>"
                           f"<td>{e(finding.rule)}</td><td>{e(finding.message)}</td></tr>")
            out.append("</table>")
        else:
            out.append("<p>no findings</p>")
        out.append("</div>")
    out.append("</body></html>\n")
    return "".join(out)


def _fwb(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown (audited both ways)"}[value]
