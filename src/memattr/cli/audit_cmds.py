"""``memattr audit`` (one host or a fleet) and ``memattr inventory``."""

from __future__ import annotations

import os

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from memattr.audit.config import RuleConfig, load_config
from memattr.audit.engine import GUEST_MAPS
from memattr.audit.reports import FORMATS, render, render_sarif
from memattr.audit.rules import Severity
from memattr.audit.run import DEFAULT_HOST_TIMEOUT, AuditRequest, FleetRow, audit_fleet, audit_host, fleet_hosts
from memattr.cli import app
from memattr.cli.common import PathArg, console, emit_json
from memattr.linux.kvm import POLICY_NAMES
from memattr.inputs import limits_help
from memattr.output import to_json, write_atomic
from memattr.platform.host import load_host

FAIL_ON = ("note", "warning", "error", "none")
FILE_OPTIONS = (
    ("iomem", "--iomem", "a copy of /proc/iomem"),
    ("sysfs", "--sysfs", "a copy of /sys/bus/pci/devices"),
    ("lspci", "--lspci", "lspci -vvv output"),
    ("dmesg", "--dmesg", "the kernel log"),
    ("fdt", "--dtb", "a device tree blob"),
    ("ptdump", "--ptdump", "/sys/kernel/debug/kernel_page_tables"),
    ("vmallocinfo", "--vmallocinfo", "/proc/vmallocinfo"),
    ("config", "--config-file", "the kernel config"),
    ("modules", "--modules", "/proc/modules"),
    ("mtree", "--mtree", "QEMU 'info mtree -f' of the VM the region is passed to"),
)


def _file_options(function):  # type: ignore[no-untyped-def]
    for key, flag, text in reversed(FILE_OPTIONS):
        function = click.option(flag, f"file_{key}", type=PathArg(allow_dash=True), help=text + " ('-': stdin)")(function)
    return function


def _overrides(files: dict[str, str | None]) -> dict[str, str]:
    """The per-file options given (``_file_options``), keyed by input kind."""
    return {key[len("file_"):]: value for key, value in files.items() if value}


def _request(kernel: str | None, policy: str | None, fwb: bool | None, guest_map: str,
             rules: str | None, dic: bool | None = None, assume_arm64: bool = False) -> AuditRequest:
    if policy is not None and policy not in POLICY_NAMES:
        raise click.BadParameter(f"{policy!r} is not one of {', '.join(POLICY_NAMES)}", param_hint="--policy")
    config = load_config(rules) if rules else RuleConfig()
    return AuditRequest(kernel=kernel, policy=policy, fwb=fwb, guest_map=guest_map, config=config, dic=dic,
                        assume_arm64=assume_arm64)


def _exit_code(counts_at_or_above: int, fail_on: str) -> int:
    return 1 if fail_on != "none" and counts_at_or_above else 0


@app.command("audit", epilog=f"Inputs must be regular files no larger than: {limits_help()}.")
@click.argument("input_dir", required=False, type=PathArg())
@_file_options
@click.option("--kernel", help="kernel version, overriding the collected uname -r (e.g. 6.9)")
@click.option("--policy", help=f"force a KVM policy: {', '.join(POLICY_NAMES)}")
@click.option("--fwb/--no-fwb", default=None, help="FEAT_S2FWB present (default: from the boot log)")
@click.option("--dic/--no-dic", default=None,
              help="CTR_EL0.DIC present (default: from the boot log, else present)")
@click.option("--guest-map", type=click.Choice(list(GUEST_MAPS)), default="auto", show_default=True,
              help="what the guest driver maps regions with (auto: what Linux drivers do)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("-o", "--output", type=PathArg(dir_okay=False), help="write the report to FILE (atomically)")
@click.option("--fail-on", type=click.Choice(FAIL_ON), default="error", show_default=True,
              help="exit 1 when a finding at or above this severity exists")
@click.option("--rules", type=PathArg(), help="rule config file (TOML): disable rules, set severities")
@click.option("--fleet", type=PathArg(), help="a directory of host directories to audit")
@click.option("--jobs", type=click.IntRange(1, 256), default=os.cpu_count() or 1, show_default=True,
              help="parallel processes for --fleet")
@click.option("--host-timeout", type=click.FloatRange(0.1, 86400), default=DEFAULT_HOST_TIMEOUT, show_default=True,
              help="with --fleet: seconds one host may take before it is reported as failed")
@click.option("--name", help="the host's name in reports (default: collected hostname, else the directory)")
@click.option("--bdf", "bdfs", multiple=True, help="only regions of this PCI function (repeatable)")
@click.option("--region", "region_names", multiple=True,
              help="only regions of this kind (e.g. pci-bar-prefetchable) or whose name contains this text")
@click.option("--assume-arm64", is_flag=True, help="audit a host that is not arm64 as if it were")
@click.option("--json", "as_json", is_flag=True, help="same as --format json")
def audit_cmd(input_dir: str | None, kernel: str | None, policy: str | None, fwb: bool | None, dic: bool | None,
              guest_map: str,
              fmt: str, output: str | None, fail_on: str, rules: str | None, fleet: str | None, jobs: int,
              host_timeout: float, name: str | None, bdfs: tuple[str, ...], region_names: tuple[str, ...],
              assume_arm64: bool, as_json: bool, **files: str | None) -> int:
    """Audit a host (a directory from `memattr collect`, or files given one by one) or a fleet.

    Exit status: 0 no finding at or above --fail-on; 1 findings; 2 bad input; with --fleet the worst
    host's status, where a host that crashed or ran past --host-timeout counts 3.
    """
    if as_json:
        fmt = "json"
    request = _request(kernel, policy, fwb, guest_map, rules, dic, assume_arm64)
    overrides = _overrides(files)
    if fleet:
        if input_dir or overrides:
            raise click.UsageError("--fleet takes a directory of hosts; give no INPUT_DIR or input files with it")
        return _fleet(fleet, request, jobs, fmt, output, fail_on, host_timeout)
    if not input_dir and not overrides:
        raise click.UsageError("give INPUT_DIR, input files such as --iomem/--sysfs/--lspci, or --fleet DIR")
    result = audit_host(input_dir, request, overrides=overrides, name=name, bdfs=bdfs, region_names=region_names)
    import shutil
    import sys

    width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() and not output else 120
    text = render(result, fmt, width=max(60, width))
    if output:
        write_atomic(output, text)
    else:
        click.echo(text, nl=False)
    if fail_on == "none":
        return 0
    return _exit_code(result.count_at_or_above(Severity(fail_on)), fail_on)


# The fleet's exit status is the worst host's (documented in --help and the README).
HOST_EXIT = {"ok": 0, "findings": 1, "bad input": 2, "failed": 3}


def _fleet(directory: str, request: AuditRequest, jobs: int, fmt: str, output: str | None, fail_on: str,
           host_timeout: float) -> int:
    hosts = fleet_hosts(directory)
    err = console()
    err.stderr = True
    with Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("hosts", total=len(hosts))
        rows = audit_fleet(hosts, request, jobs, progress=lambda row: progress.advance(task),
                           keep_results=fmt == "sarif", host_timeout=host_timeout)
    level = Severity(fail_on) if fail_on != "none" else None

    def host_exit(row: FleetRow) -> int:
        if row.status != "ok":
            return HOST_EXIT[row.status]
        return HOST_EXIT["findings"] if level is not None and row.count_at_or_above(level) else 0

    totals = {"hosts": len(rows), "ok": sum(1 for r in rows if r.status == "ok"),
              "bad input": sum(1 for r in rows if r.status == "bad input"),
              "failed": sum(1 for r in rows if r.status == "failed"),
              "regions": sum(r.summary().get("regions", 0) for r in rows)}
    for severity in Severity:
        totals[severity.value] = sum(r.summary().get("findings", {}).get(severity.value, 0) for r in rows)
    code = max((host_exit(row) for row in rows), default=0)
    if fmt == "json":
        text = to_json({"hosts": [row.summary() for row in rows], "totals": totals, "exit_status": code})
    elif fmt == "sarif":
        text = to_json(render_sarif([row.result for row in rows if row.result is not None]))
    elif fmt == "html":
        raise click.UsageError("--format html reports one host; use json, sarif or text with --fleet")
    else:
        table = Table(title=f"fleet audit: {len(rows)} hosts")
        for column in ("host", "status", "kernel", "policy", "FWB", "regions", "error", "warning", "note"):
            table.add_column(column, overflow="fold")
        for row in rows:
            data = row.summary()
            if row.status != "ok":
                table.add_row(row.host, f"{row.status}: {row.error}", "", "", "", "", "", "", "")
                continue
            counts = data["findings"]
            fwb = {True: "yes", False: "no", None: "unknown"}[data["fwb"]]
            table.add_row(row.host, "ok", str(data["kernel"]), data["policy"], fwb,
                          str(data["regions"]), str(counts["error"]), str(counts["warning"]), str(counts["note"]))
        capture = console(min_width=110)
        with capture.capture() as captured:
            capture.print(table)
        text = captured.get() + (
            f"total: {totals['hosts']} hosts, {totals['ok']} audited, {totals['bad input']} bad input, "
            f"{totals['failed']} failed; {totals['regions']} regions; findings: {totals['error']} error, "
            f"{totals['warning']} warning, {totals['note']} note\n")
    if output:
        write_atomic(output, text)
    else:
        click.echo(text, nl=False)
    for row in rows:
        if row.status != "ok":
            click.echo(f"memattr: {row.status}: {row.host}: {row.error}", err=True)
    return code


@app.command("inventory", epilog=f"Inputs must be regular files no larger than: {limits_help()}.")
@click.argument("input_dir", required=False, type=PathArg())
@_file_options
@click.option("--name", help="the host's name (default: collected hostname, else the directory)")
@click.option("--bdf", "bdfs", multiple=True, help="only this PCI function (repeatable)")
@click.option("--region", "region_names", multiple=True, help="only regions of this kind or whose name contains this")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def inventory_cmd(input_dir: str | None, name: str | None, bdfs: tuple[str, ...], region_names: tuple[str, ...],
                  as_json: bool, **files: str | None) -> int:
    """Show what memattr understood of a host: devices, BARs, platform nodes and the regions it audits."""
    from memattr.audit.from_inventory import regions_of
    from memattr.audit.run import select_regions

    overrides = _overrides(files)
    if not input_dir and not overrides:
        raise click.UsageError("give INPUT_DIR or input files such as --iomem/--sysfs/--lspci/--dmesg")
    inventory = load_host(input_dir, name=name, overrides=overrides)
    regions = select_regions(regions_of(inventory), bdfs, region_names)
    wanted = {r.bdf for r in regions} if (bdfs or region_names) else None
    devices = [d for d in inventory.pci if wanted is None or d.bdf in wanted]
    if as_json:
        data = inventory.to_json()
        data["pci"] = [d for d in data["pci"] if wanted is None or d["bdf"] in wanted]
        data["regions"] = [r.to_json() for r in regions]
        emit_json(data)
        return 0 if regions else 2
    out = console(min_width=110)
    out.print(f"host {inventory.name}, kernel {inventory.release or 'unknown'}; read {', '.join(inventory.inputs)}")
    table = Table(title="PCI devices")
    for column in ("BDF", "ids", "driver", "BARs", "register blocks"):
        table.add_column(column, overflow="fold")
    for device in devices:
        ids = f"{device.vendor:04x}:{device.device:04x}" if device.vendor is not None and device.device is not None else ""
        bars = "; ".join(f"{b.index}: {b.start:#x} +{b.size:#x}{' pref' if b.prefetchable else ''}"
                         f"{' 64' if b.is_64bit else ''}" for b in device.bars)
        bars += "".join(f"; VF BAR{v.index}: {v.start:#x} {v.vf_count} x {v.per_vf_size:#x}" for v in device.vf_bars)
        blocks = "; ".join(f"{r.what} BAR{r.bar}+{r.offset:#x}" for r in device.register_blocks)
        table.add_row(device.bdf, ids, device.driver or "", bars, blocks)
    out.print(table)
    if inventory.platform and wanted is None:
        ptable = Table(title="platform devices")
        for column in ("node", "compatible", "reg", "dma-coherent", "status"):
            ptable.add_column(column, overflow="fold")
        for node in inventory.platform:
            ptable.add_row(node.path, ", ".join(node.compatible), "; ".join(f"{s:#x} +{n:#x}" for s, n in node.regs),
                           "yes" if node.dma_coherent else "no", node.status)
        out.print(ptable)
    rtable = Table(title=f"{len(regions)} region{'' if len(regions) == 1 else 's'} to audit")
    for column in ("region", "range", "kind", "sources"):
        rtable.add_column(column, overflow="fold")
    for region in regions:
        rtable.add_row(region.name, f"{region.start:#x}-{region.end:#x}", region.kind, ", ".join(region.sources))
    out.print(rtable)
    for warning in inventory.warnings:
        out.print(f"warning: {warning}")
    if not regions:
        click.echo("memattr: error: no device region found (nothing to audit)", err=True)
        return 2
    return 0


@app.command("collect")
@click.argument("outdir", type=PathArg())
@click.option("--root", default="/", show_default=True, type=PathArg(exists=True, file_okay=False),
              help="read from this root instead of the live system (a mounted image or a copy)")
@click.option("--no-lspci", is_flag=True, help="do not run lspci")
@click.option("--json", "as_json", is_flag=True, help="print the manifest as JSON")
def collect_cmd(outdir: str, root: str, no_lspci: bool, as_json: bool) -> None:
    """Copy what memattr reads from this Linux host into OUTDIR (readable files only, no root needed)."""
    from memattr.platform.collect import collect

    manifest = collect(outdir, root=root, run_lspci=not no_lspci)
    if as_json:
        emit_json(manifest.to_json())
        return
    out = console()
    out.print(f"collected {len(manifest.collected)} files into {outdir}")
    for name, why in sorted(manifest.unreadable.items()):
        out.print(f"  not collected: {name}: {why}")
