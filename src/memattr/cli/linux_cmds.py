"""Commands for the Linux model: ``trace`` and ``policies``."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table
from rich.tree import Tree

from memattr.cli import app
from memattr.cli.common import console, emit_json
from memattr.errors import MemattrError
from memattr.linux.chain import GUEST_CALLS, REGION_NAMES, Trace, driver_named, region_kind, trace
from memattr.linux.kvm import POLICIES, POLICY_NAMES
from memattr.linux.version import KernelVersion


def _choice_check(value: str | None, valid: tuple[str, ...], option: str) -> str | None:
    if value is not None and value not in valid:
        raise click.BadParameter(f"{value!r} is not one of {', '.join(valid)}", param_hint=option)
    return value


@app.command("trace")
@click.option("--kernel", "kernel_text", help="host kernel version (e.g. 6.6); picks the upstream policy")
@click.option("--policy", "policy_name", help=f"a policy by name: {', '.join(POLICY_NAMES)}")
@click.option("--region", required=True, help=f"region kind: {', '.join(REGION_NAMES)}")
@click.option("--guest", "guest_call", required=True, help=f"the guest driver's call: {', '.join(GUEST_CALLS)}")
@click.option("--guest-kernel", "guest_kernel_text", help="the guest's kernel version (default: the host's)")
@click.option("--driver", help="override the host driver that exposes the region to the VMM")
@click.option("--fwb/--no-fwb", default=False, help="FEAT_S2FWB present (KVM sets HCR_EL2.FWB)")
@click.option("--dic/--no-dic", default=True, show_default=True,
              help="CTR_EL0.DIC present (ARM64_HAS_CACHE_DIC); v6.17 needs it with FWB for cacheable PFNMAP")
@click.option("--proposed", is_flag=True, help="also model unmerged patch series (the vfio-pci dma-buf mmap)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def trace_cmd(kernel_text: str | None, policy_name: str | None, region: str, guest_call: str,
              guest_kernel_text: str | None, driver: str | None, fwb: bool, dic: bool, proposed: bool,
              as_json: bool) -> None:
    """The whole chain of one page: host alias, VMM mapping, stage 2, guest stage 1, effective types."""
    _choice_check(region, REGION_NAMES, "--region")
    _choice_check(guest_call, GUEST_CALLS, "--guest")
    _choice_check(policy_name, POLICY_NAMES, "--policy")
    if kernel_text is None and policy_name is None:
        raise click.UsageError("give --kernel VERSION or --policy NAME (e.g. --kernel 6.6)")
    kernel = KernelVersion.parse(kernel_text) if kernel_text else None
    guest_kernel = KernelVersion.parse(guest_kernel_text) if guest_kernel_text else None
    result = trace(region=region, guest_call=guest_call, fwb=fwb, kernel=kernel, policy=policy_name,
                   guest_kernel=guest_kernel, driver=driver, dic=dic, proposed=proposed)
    if as_json:
        emit_json(result.to_json())
        return
    print_trace(result)


def print_trace(result: Trace) -> None:
    out = console()
    effective = result.effective.memory_type or f"refused ({result.effective.refused})"
    tree = Tree(f"[bold]{result.region.title}[/bold], guest {result.guest_call}, kernel {result.kernel}, "
                f"policy {result.policy.name}, FWB {'on' if result.fwb else 'off'}, DIC {'on' if result.dic else 'off'}"
                f" -> [bold]{effective}[/bold]")
    aliases = tree.add("aliases of the page")
    for alias in result.aliases:
        line = f"{alias.who}: {alias.how} -> [bold]{alias.memory_type}[/bold]"
        if alias.condition:
            line += f" [dim]({alias.condition})[/dim]"
        aliases.add(line)
    steps = tree.add("explanation")
    for step in result.explanation:
        steps.add(f"{step['text']} [dim][{step['rule']}: {step['source']}][/dim]")
    if result.hazards:
        hazards = tree.add("[bold]hazards[/bold]")
        for hazard in result.hazards:
            hazards.add(str(hazard))
    out.print(tree)


@app.group("policies", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
def policies_cmd(ctx: click.Context, as_json: bool) -> None:
    """Every known KVM stage-2 policy with its source; `policies compare` for the matrix."""
    if ctx.invoked_subcommand is not None:
        return
    data = [
        {"name": p.name, "title": p.title, "upstream": p.upstream,
         "since": str(p.since) if p.since else None, "until": str(p.until) if p.until else None,
         "source": p.source, "rationale": p.rationale}
        for p in POLICIES
    ]
    if as_json:
        emit_json({"policies": data})
        return
    table = Table(title="KVM/arm64 stage-2 policies for device memory")
    for column in ("name", "kernels", "what", "source"):
        table.add_column(column, overflow="fold")
    for p in data:
        kernels = (f"{p['since']}..{p['until'] or ''}" if p["upstream"] else "what-if")
        table.add_row(p["name"], kernels, p["title"], p["source"])
    console().print(table)


@policies_cmd.command("compare")
@click.option("--region", "regions", multiple=True, help=f"region kinds (default all): {', '.join(REGION_NAMES)}")
@click.option("--kernel", "kernel_text", default="6.17", show_default=True,
              help="kernel version for the host and guest attribute layout")
@click.option("--fwb/--no-fwb", default=False, help="FEAT_S2FWB present")
@click.option("--dic/--no-dic", default=True, show_default=True, help="CTR_EL0.DIC present")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def compare_cmd(regions: tuple[str, ...], kernel_text: str, fwb: bool, dic: bool, as_json: bool) -> None:
    """The matrix: guest request x region kind x policy -> effective memory type, hazards marked.

    Proposed (unmerged) drivers such as the vfio-pci dma-buf mmap are included: the matrix is about
    what each policy would do.
    """
    for region in regions:
        _choice_check(region, REGION_NAMES, "--region")
    kernel = KernelVersion.parse(kernel_text)
    data = compare_matrix(regions or REGION_NAMES, kernel, fwb, dic)
    if as_json:
        emit_json(data)
        return
    out = console(min_width=120)
    for region in data["regions"]:
        table = Table(title=f"{region['region']} (kernel {kernel} layout, FWB {'on' if fwb else 'off'})",
                      caption="! = hazard (see `memattr trace` for the chain); refused = KVM will not map it")
        table.add_column("guest", no_wrap=True)
        for name in POLICY_NAMES:
            table.add_column(name, overflow="fold")
        for row in region["rows"]:
            cells = []
            for cell in row["cells"]:
                text = cell["memory_type"] or "refused"
                if cell["hazards"]:
                    text += " !" + ",".join(h.split(":", 1)[0] for h in cell["hazards"])
                cells.append(text)
            table.add_row(row["guest"], *cells)
        out.print(table)


def _proposed(region: str) -> bool:
    kind = region_kind(region)
    return not kind.system_ram and driver_named(kind.driver).since is None


def compare_matrix(regions: tuple[str, ...], kernel: KernelVersion, fwb: bool, dic: bool = True) -> dict[str, Any]:
    """Every (region, guest call, policy) cell; each one is exactly what `memattr trace` reports."""
    result: dict[str, Any] = {"kernel": str(kernel), "fwb": fwb, "dic": dic, "policies": list(POLICY_NAMES),
                              "regions": []}
    for region in regions:
        rows = []
        for guest in GUEST_CALLS:
            cells = []
            for policy in POLICY_NAMES:
                try:
                    cell = trace(region=region, guest_call=guest, fwb=fwb, kernel=kernel, policy=policy, dic=dic,
                                 proposed=True)
                except MemattrError as error:
                    cells.append({"policy": policy, "memory_type": None, "hazards": [], "error": str(error)})
                    continue
                cells.append({
                    "policy": policy,
                    "memory_type": cell.effective.memory_type,
                    "stage2": cell.stage2.memory_type,
                    "hazards": [str(hazard) for hazard in cell.hazards],
                    "trace": f"memattr trace --policy {policy} --kernel {kernel} --region {region} --guest {guest} "
                             f"--{'fwb' if fwb else 'no-fwb'} --{'dic' if dic else 'no-dic'}"
                             + (" --proposed" if _proposed(region) else ""),
                })
            rows.append({"guest": guest, "cells": cells})
        result["regions"].append({"region": region, "rows": rows})
    return result


@app.command("facts")
@click.option("--status", type=click.Choice(["confirmed", "inferred", "proposal"]), help="only facts with this status")
@click.option("--area", help="only facts of this area (e.g. 'VMM driver', 'KVM policy')")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def facts_cmd(status: str | None, area: str | None, as_json: bool) -> None:
    """Every fact of the Linux model with its citation and status (confirmed, inferred, proposal)."""
    from memattr.linux.facts import all_facts

    facts = [f for f in all_facts() if (status is None or f.status == status) and (area is None or f.area == area)]
    if area is not None and not facts:
        areas = sorted({f.area for f in all_facts()})
        raise click.BadParameter(f"no facts in area {area!r}; areas: {', '.join(areas)}", param_hint="--area")
    if as_json:
        counts = {s: sum(1 for f in facts if f.status == s) for s in ("confirmed", "inferred", "proposal")}
        emit_json({"facts": [f.to_json() for f in facts], "counts": counts})
        return
    table = Table(title=f"{len(facts)} facts of the Linux model")
    for column in ("id", "status", "kernels", "fact", "source"):
        table.add_column(column, overflow="fold")
    for fact in facts:
        kernels = f"{fact.since or ''}..{fact.until or ''}" if fact.since or fact.until else ""
        text = fact.statement + (f" [dim]({fact.note})[/dim]" if fact.note and fact.status != "confirmed" else "")
        table.add_row(fact.id, fact.status, kernels, text, fact.source)
    console(min_width=140).print(table)
