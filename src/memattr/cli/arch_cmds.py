"""Commands for the architecture layer: ``decode``, ``combine`` and ``table``."""

from __future__ import annotations

from typing import Any

import click

from memattr.arch.combine import Access, Combination, Controls, attributes_json, combine
from memattr.arch.features import FEATURES, FeatureSet, parse_features
from memattr.arch.mair import decode_mair, decode_mair_attr
from memattr.arch.matrix import Cell, full_matrix
from memattr.arch.memtypes import MemoryAttributes, MemoryType, Shareability, TagType, Unpredictable, full_name
from memattr.arch.stage2 import decode_s2_memattr
from memattr.cli import app
from memattr.cli.common import Number, PathArg, console, emit_json
from memattr.output import write_atomic

FEATURES_HELP = "implemented features: " + ", ".join(f.name for f in FEATURES) + " (comma-separated)"
SHARE_CHOICES = click.Choice([s.value for s in Shareability], case_sensitive=False)


def _features(text: str | None) -> FeatureSet:
    return parse_features(text)


def _memtype_json(value: MemoryType | Unpredictable) -> dict[str, Any]:
    if isinstance(value, Unpredictable):
        return {
            "memory_type": "UNPREDICTABLE",
            "what": value.what,
            "rule": value.rule,
            "choices": list(value.choices),
        }
    data: dict[str, Any] = {"memory_type": value.short_name, "full_name": full_name(value),
                            "description": value.describe(), "xs": int(value.xs)}
    if value.is_normal:
        data["tagged"] = value.tags.value == "Tagged"
    return data


@app.group()
def decode() -> None:
    """Decode MAIR registers and bytes, stage-2 MemAttr values and descriptors."""


@decode.command("mair")
@click.argument("value", type=Number(64, "a 64-bit MAIR_ELx value"))
@click.option("--features", "features_text", help=FEATURES_HELP)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def decode_mair_cmd(value: int, features_text: str | None, as_json: bool) -> None:
    """Decode a whole MAIR_ELx register VALUE into its eight attributes."""
    from rich.table import Table
    features = _features(features_text)
    attrs = decode_mair(value, features)
    if as_json:
        emit_json({"mair": f"{value:#018x}", "features": sorted(features), "attributes": [
            {"index": n, "byte": f"{(value >> 8 * n) & 0xFF:#04x}", **_memtype_json(attr)}
            for n, attr in enumerate(attrs)
        ]})
        return
    table = Table(title=f"MAIR {value:#018x}" + (f"  features: {', '.join(sorted(features))}" if features else ""))
    for column in ("Attr<n>", "byte", "memory type", "attributes"):
        table.add_column(column)
    for n, attr in enumerate(attrs):
        text = attr.describe() if not isinstance(attr, Unpredictable) else attr.what
        table.add_row(str(n), f"{(value >> 8 * n) & 0xFF:#04x}", attr.short_name, text)
    console().print(table)


@decode.command("mair-attr")
@click.argument("value", type=Number(8, "a MAIR attribute byte"))
@click.option("--features", "features_text", help=FEATURES_HELP)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def decode_mair_attr_cmd(value: int, features_text: str | None, as_json: bool) -> None:
    """Decode one MAIR_ELx.Attr<n> byte VALUE (e.g. 0x44)."""
    features = _features(features_text)
    attr = decode_mair_attr(value, features)
    data = {"byte": f"{value:#04x}", "features": sorted(features), **_memtype_json(attr)}
    if not isinstance(attr, Unpredictable):
        from memattr.arch.properties import properties_of
        data["properties"] = properties_of(attr).to_json()
    if as_json:
        emit_json(data)
        return
    out = console()
    out.print(f"[bold]{value:#04x}[/bold] -> [bold]{attr.short_name}[/bold]")
    if isinstance(attr, Unpredictable):
        out.print(f"  {attr.what}\n  source: {attr.rule}")
        for choice in attr.choices:
            out.print(f"  - {choice}")
        return
    out.print(f"  {attr.describe()}")
    _print_properties(attr)


def _print_properties(memtype: MemoryType) -> None:
    from rich.table import Table
    from memattr.arch.properties import properties_of
    props = properties_of(memtype)
    table = Table(title=f"properties of {memtype.short_name}")
    table.add_column("property")
    table.add_column("value")
    table.add_column("source")
    for row in props.rows():
        table.add_row(row.title, row.value, row.source)
    console().print(table)


@decode.command("s2")
@click.argument("value", type=Number(4, "a stage-2 MemAttr[3:0] value"))
@click.option("--fwb/--no-fwb", default=False, help="HCR_EL2.FWB=1 (FEAT_S2FWB)")
@click.option("--features", "features_text", help=FEATURES_HELP)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def decode_s2_cmd(value: int, fwb: bool, features_text: str | None, as_json: bool) -> None:
    """Decode a stage-2 descriptor MemAttr[3:0] VALUE, with or without FWB."""
    features = _features(features_text)
    decoded = decode_s2_memattr(value, fwb=fwb, features=features)
    data: dict[str, Any] = {
        "memattr": f"{value:#06b}", "fwb": fwb, "features": sorted(features),
        "reserved": decoded.reserved, "meaning": decoded.describe(), "notes": list(decoded.notes),
    }
    if isinstance(decoded.attr, Unpredictable):
        data["memory_type"] = "UNPREDICTABLE"
        data["rule"] = decoded.attr.rule
        data["choices"] = list(decoded.attr.choices)
    if as_json:
        emit_json(data)
        return
    out = console()
    out.print(f"[bold]MemAttr {value:#06b}[/bold] (FWB={int(fwb)}): {decoded.describe()}")
    for note in decoded.notes:
        out.print(f"  note: {note}")
    if isinstance(decoded.attr, Unpredictable):
        out.print(f"  source: {decoded.attr.rule}")
        for choice in decoded.attr.choices:
            out.print(f"  - {choice}")


@decode.command("pte")
@click.argument("value", type=Number(64, "a 64-bit descriptor"))
@click.option("--stage", type=click.IntRange(1, 2), required=True, help="stage 1 or stage 2 descriptor")
@click.option("--level", type=click.IntRange(1, 3), default=3, show_default=True, help="translation level (4KB granule)")
@click.option("--mair", "mair_value", type=Number(64, "a 64-bit MAIR value"),
              help="stage 1: the MAIR_EL1 value, to decode the memory type of AttrIndx")
@click.option("--fwb/--no-fwb", default=False, help="stage 2: HCR_EL2.FWB=1")
@click.option("--features", "features_text", help=FEATURES_HELP)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def decode_pte_cmd(value: int, stage: int, level: int, mair_value: int | None, fwb: bool,
                   features_text: str | None, as_json: bool) -> None:
    """Decode a stage-1 or stage-2 Block/Page descriptor VALUE (4KB granule)."""
    from rich.table import Table
    features = _features(features_text)
    from memattr.arch.descriptors import SHAREABILITY_ENCODING, decode_descriptor
    descriptor = decode_descriptor(value, stage=stage, level=level)  # type: ignore[arg-type]
    share = SHAREABILITY_ENCODING[descriptor.sh]
    data: dict[str, Any] = {
        "descriptor": f"{value:#018x}", "stage": stage, "level": level, "kind": descriptor.kind,
        "output_address": f"{descriptor.output_address:#x}",
        "fields": descriptor.field_values(),
        "shareability": share.value if share else "reserved (0b01, CONSTRAINED UNPREDICTABLE)",
        "other_bits": f"{descriptor.other_bits:#x}",
    }
    if stage == 1 and mair_value is not None:
        attr = decode_mair_attr((mair_value >> (8 * descriptor.attr_index)) & 0xFF, features)
        data["memory"] = _memtype_json(attr)
    if stage == 2:
        decoded = decode_s2_memattr(descriptor.memattr, fwb=fwb, features=features)
        data["memory"] = {"meaning": decoded.describe(), "reserved": decoded.reserved,
                          "notes": list(decoded.notes)}
    if as_json:
        emit_json(data)
        return
    table = Table(title=f"stage-{stage} level-{level} {descriptor.kind} descriptor {value:#018x}")
    table.add_column("field")
    table.add_column("value")
    table.add_row("output address", data["output_address"])
    for name, field_value in descriptor.field_values().items():
        table.add_row(name, f"{field_value:#x}")
    table.add_row("shareability", data["shareability"])
    if "memory" in data:
        memory = data["memory"]
        table.add_row("memory", memory.get("memory_type") or memory.get("meaning", ""))
    if descriptor.other_bits:
        table.add_row("other bits", data["other_bits"])
    console().print(table)


def _controls_options(function: Any) -> Any:
    options = [
        click.option("--fwb/--no-fwb", default=False, help="HCR_EL2.FWB=1 (FEAT_S2FWB)"),
        click.option("--features", "features_text", help=FEATURES_HELP),
        click.option("--json", "as_json", is_flag=True, help="machine-readable output"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@app.command("combine")
@click.option("--s1", "s1", type=Number(8, "a stage-1 MAIR attribute byte"),
              help="the guest's stage-1 MAIR attribute byte (omit with --s1-disabled)")
@click.option("--s2", "s2", type=Number(4, "a stage-2 MemAttr[3:0] value"),
              help="the hypervisor's stage-2 MemAttr[3:0] (omit with --s2-disabled)")
@click.option("--s1-sh", type=SHARE_CHOICES, default="ISH", show_default=True, help="stage-1 SH")
@click.option("--s2-sh", type=SHARE_CHOICES, default="ISH", show_default=True, help="stage-2 SH")
@click.option("--fnxs", is_flag=True, help="stage-2 descriptor FnXS=1 (FEAT_XS)")
@click.option("--s1-disabled", is_flag=True, help="stage 1 disabled (SCTLR_EL1.M=0)")
@click.option("--s2-disabled", is_flag=True, help="stage 2 disabled (HCR_EL2.VM=0)")
@click.option("--hcr-dc", is_flag=True, help="HCR_EL2.DC=1 (default cacheable)")
@click.option("--hcr-cd", is_flag=True, help="HCR_EL2.CD=1 (stage-2 data Non-cacheable)")
@click.option("--hcr-id", is_flag=True, help="HCR_EL2.ID=1 (stage-2 instructions Non-cacheable)")
@click.option("--sctlr-c/--no-sctlr-c", default=True, help="SCTLR_EL1.C")
@click.option("--sctlr-i/--no-sctlr-i", default=True, help="SCTLR_EL1.I")
@click.option("--ifetch", is_flag=True, help="an instruction fetch rather than a data access")
@click.option("--s1-effective-shareability", is_flag=True,
              help="the IMPLEMENTATION DEFINED choice of RNSCNC: stage-1 Device/NC enters stage 2 as Outer Shareable")
@click.option("--as", "as_profile", type=click.Choice(["qemu", "kvm-at"]),
              help="also show what this implementation computes (memattr conformance profiles)")
@_controls_options
def combine_cmd(s1: int | None, s2: int | None, s1_sh: str, s2_sh: str, fnxs: bool, s1_disabled: bool,
                s2_disabled: bool, hcr_dc: bool, hcr_cd: bool, hcr_id: bool, sctlr_c: bool, sctlr_i: bool,
                ifetch: bool, s1_effective_shareability: bool, as_profile: str | None, fwb: bool,
                features_text: str | None, as_json: bool) -> None:
    """The effective memory type of a guest access: stage 1 combined with stage 2, explained."""
    if s1 is None and not s1_disabled:
        raise click.UsageError("--s1 is required (or --s1-disabled); expected a MAIR attribute byte such as 0x44")
    if s2 is None and not s2_disabled:
        raise click.UsageError("--s2 is required (or --s2-disabled); expected a stage-2 MemAttr such as 0x1")
    if s1 is not None and s1_disabled:
        raise click.UsageError("--s1 and --s1-disabled are mutually exclusive")
    if s2 is not None and s2_disabled:
        raise click.UsageError("--s2 and --s2-disabled are mutually exclusive")
    features = _features(features_text)
    controls = Controls(fwb=fwb, hcr_dc=hcr_dc, hcr_cd=hcr_cd, hcr_id=hcr_id, sctlr_c=sctlr_c, sctlr_i=sctlr_i,
                        s1_effective_shareability=s1_effective_shareability,
                        access=Access.IFETCH if ifetch else Access.DATA)
    result = combine(s1, s2, s1_shareability=Shareability(s1_sh.upper()),
                     s2_shareability=Shareability(s2_sh.upper()), s2_fnxs=fnxs, controls=controls,
                     features=features)
    other = None
    if as_profile:
        if s1 is None or s2 is None or ifetch or hcr_id:
            raise click.UsageError("--as compares data accesses with both stages enabled (no --s1-disabled, "
                                   "--s2-disabled, --ifetch or --hcr-id)")
        other = _profile_answer(as_profile, s1, s2, fwb, features, s1_sh.upper(), s2_sh.upper(), fnxs, hcr_cd, hcr_dc,
                                sctlr_c, result)
    if as_json:
        data = {
            "inputs": {
                "s1": None if s1 is None else f"{s1:#04x}", "s2": None if s2 is None else f"{s2:#03x}",
                "s1_shareability": s1_sh.upper(), "s2_shareability": s2_sh.upper(), "fwb": fwb,
                "features": sorted(features), "access": controls.access.value,
            },
            **result.to_json(),
        }
        if other is not None:
            data["implementation"] = other
        emit_json(data)
        return
    print_combination(result, f"stage 1 {'disabled' if s1 is None else f'{s1:#04x}'} + stage 2 "
                              f"{'disabled' if s2 is None else f'{s2:#06b}'}{' (FWB)' if fwb else ''}")
    if other is not None:
        verdict = "agrees with the ASL" if other["agrees"] else "DIFFERS from the ASL"
        console().print(f"[bold]{other['name']}[/bold] ({other['version']}) computes PAR.ATTR {other['attr']}, "
                        f"{other['memory_type']} {other['shareability']}: {verdict}\n  [dim]{other['source']}[/dim]")


def _profile_answer(name: str, s1: int, s2: int, fwb: bool, features: frozenset[str], s1_sh: str, s2_sh: str,
                    fnxs: bool, hcr_cd: bool, hcr_dc: bool, sctlr_c: bool, result: Combination) -> dict[str, object]:
    from memattr.conformance.columns import OUTCOME_COLUMNS, outcome_code, outcome_fields
    from memattr.conformance.compare import profile_cell
    from memattr.conformance.profiles import PROFILES, ProfileInputs

    profile = PROFILES[name]
    attr, fields = profile_cell(profile, ProfileInputs(s1, s2, fwb, features, s1_sh, s2_sh, fnxs, hcr_cd, hcr_dc,
                                                       sctlr_c))
    compared = [OUTCOME_COLUMNS.index(c) for c in profile.columns]
    got = tuple(fields[i] for i in compared)
    if result.unpredictable:
        permitted = {tuple(outcome_code(outcome_fields(p)).split("/")[i] for i in compared) for p in result.possible}
        agrees = got in permitted
    else:
        from dataclasses import replace

        # RNSCNC leaves the shareability a Device or Non-cacheable stage 1 brings into stage 2 to the
        # implementation: either choice agrees.
        choices = [result.result]
        for effective in (False, True):
            choices.append(combine(s1, s2, s1_shareability=Shareability(s1_sh), s2_shareability=Shareability(s2_sh),
                                   s2_fnxs=fnxs, features=features,
                                   controls=replace(Controls(fwb=fwb, hcr_cd=hcr_cd, hcr_dc=hcr_dc, sctlr_c=sctlr_c),
                                                    s1_effective_shareability=effective)).result)
        agrees = any(got == tuple(outcome_fields(choice)[i] for i in compared) for choice in choices)  # type: ignore[arg-type]
    return {"name": profile.name, "version": profile.version, "source": profile.source, "attr": f"{attr:#04x}",
            "memory_type": fields[0], "shareability": fields[7], "compared": list(profile.columns),
            "outcome": dict(zip(OUTCOME_COLUMNS, fields)), "agrees": agrees}


def print_combination(result: Combination, title: str) -> None:
    from rich.tree import Tree
    out = console()
    tree = Tree(f"[bold]{title}[/bold] -> [bold]{result.memory_type}[/bold]"
                + (f" {result.result.shareability.value}" if not result.unpredictable else ""))  # type: ignore[union-attr]
    for step in result.explanation:
        node = tree.add(f"{step.text}" + (f" [bold]-> {step.result}[/bold]" if step.result else ""))
        node.add(f"[dim]{step.rule}: {step.source}[/dim]")
    out.print(tree)
    if result.unpredictable:
        reserved = result.result
        assert isinstance(reserved, Unpredictable)
        out.print("CONSTRAINED UNPREDICTABLE choices:")
        for choice in reserved.choices:
            out.print(f"  - {choice}")
        out.print("possible memory types: " + ", ".join(sorted({p.short_name for p in result.possible})))


@app.command("table")
@click.option("--fwb/--no-fwb", default=False, help="HCR_EL2.FWB=1 (FEAT_S2FWB)")
@click.option("--features", "features_text", help=FEATURES_HELP)
@click.option("--json", "as_json", is_flag=True, help="JSON: one object per cell")
@click.option("--csv", "as_csv", is_flag=True, help="CSV: one row per cell")
@click.option("-o", "--output", type=PathArg(dir_okay=False, writable=True), help="write to FILE")
def table_cmd(fwb: bool, features_text: str | None, as_json: bool, as_csv: bool, output: str | None) -> None:
    """The full matrix: every stage-1 MAIR byte x every stage-2 MemAttr -> effective memory type."""
    if as_json and as_csv:
        raise click.UsageError("--json and --csv are mutually exclusive")
    features = _features(features_text)
    table = full_matrix(fwb=fwb, features=features)
    if as_json or as_csv:
        if as_json:
            # One cell per line: the same JSON value as an indented dump, written several times faster.
            import json

            head = json.dumps({"fwb": fwb, "features": sorted(features)})[:-1]
            # Cells share a few outcomes: each outcome's JSON is made once, keyed by the values it is made
            # from, and the inputs put in front (the same text as Cell.to_json through json.dumps).
            rendered: dict[tuple[object, ...], str] = {}  # outcomes, and reserved cells' possible types
            columns = [f'", "s2": "{s2:#03x}", ' for s2 in range(16)]
            parts = []
            for s1 in range(256):
                row = f'{{"s1": "{s1:#04x}'
                for s2 in range(16):
                    result = table.results[s1 * 16 + s2]
                    if isinstance(result, MemoryAttributes):
                        memtype = result.memtype
                        key: tuple[object, ...] = (memtype.short_name, result.shareability, memtype.xs, memtype.tags)
                        tail = rendered.get(key)
                        if tail is None:
                            tail = rendered[key] = json.dumps(
                                {"memory_type": memtype.short_name, "shareability": result.shareability.value,
                                 "xs": int(memtype.xs), "tagged": memtype.tags is TagType.ALLOCATION_TAGGED},
                                ensure_ascii=False)[1:]
                    else:
                        names = ("reserved", *table.possible_names(s1, s2))
                        tail = rendered.get(names)
                        if tail is None:
                            data = Cell(s1, s2, fwb, result, table).to_json()
                            del data["s1"], data["s2"]
                            tail = rendered[names] = json.dumps(data, ensure_ascii=False)[1:]
                    parts.append(row + columns[s2] + tail)
            body = ",\n  ".join(parts)
            text = f'{head}, "cells": [\n  {body}\n]}}\n'
        else:
            import csv
            import io

            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(["s1", "s2", "fwb", "memory_type", "shareability", "xs", "tagged"])
            for cell in table.cells():
                row = cell.to_json()
                writer.writerow([row["s1"], row["s2"], int(fwb), row["memory_type"], row["shareability"] or "",
                                 "" if row["xs"] is None else row["xs"], "" if row["tagged"] is None else int(row["tagged"])])
            text = buffer.getvalue()
        if output:
            write_atomic(output, text)
        else:
            click.echo(text, nl=False)
        return
    from rich import box
    from rich.table import Table

    grid = Table(title=f"effective memory type, stage 1 MAIR byte x stage 2 MemAttr (FWB={int(fwb)})",
                 box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False,
                 caption="D0 nGnRnE, D1 nGnRE, D2 nGRE, D3 GRE; N<inner><outer> with n = Non-cacheable, "
                         "t = Write-Through, b = Write-Back; ?? = UNPREDICTABLE (reserved encoding)")
    grid.add_column("S1", no_wrap=True)
    for s2 in range(16):
        grid.add_column(f"{s2:X}", no_wrap=True, min_width=3)
    by_s1: dict[int, list[str]] = {}
    for index, result in enumerate(table.results):
        by_s1.setdefault(index >> 4, []).append(_abbreviate(result.short_name))
    for s1, row in by_s1.items():
        grid.add_row(f"{s1:02X}", *row)
    if output:
        capture = console(min_width=100)
        with capture.capture() as captured:
            capture.print(grid)
        write_atomic(output, captured.get())
    else:
        console(min_width=100).print(grid)


_DEVICE_CODES = {"Device-nGnRnE": "D0", "Device-nGnRE": "D1", "Device-nGRE": "D2", "Device-GRE": "D3"}
_LEVEL_CODES = {"NC": "n", "WT": "t", "WB": "b"}


def _abbreviate(name: str) -> str:
    """Three-character cell codes so that 16 columns fit a terminal; the caption is the legend."""
    if name == "UNPREDICTABLE":
        return "??"
    if name in _DEVICE_CODES:
        return _DEVICE_CODES[name]
    inner, outer = name[len("Normal-i"):].split("-o")
    return "N" + _LEVEL_CODES[inner] + _LEVEL_CODES[outer]
