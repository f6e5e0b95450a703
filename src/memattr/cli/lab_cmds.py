"""``memattr lab``: boot real arm64 kernels under QEMU and check memattr's predictions against the page
tables they write."""

from __future__ import annotations

import os
from pathlib import Path

import click

from memattr.cli import app
from memattr.cli.common import PathArg, console
from memattr.output import to_json, write_atomic

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "memattr" / "lab"


@app.command("lab")
@click.option("--kernel", "kernels", multiple=True, type=click.Choice(["6.1", "6.12"]),
              help="a Debian arm64 kernel to fetch and boot: 6.1 (bookworm) or 6.12 (bookworm-backports); "
                   "repeat for several (default both)")
@click.option("--kernel-deb", "kernel_debs", multiple=True, type=PathArg(dir_okay=False),
              help="your own kernel package (linux-image-*.deb, arm64)")
@click.option("--kernel-image", type=PathArg(dir_okay=False), help="your own arm64 kernel Image (with --modules)")
@click.option("--modules", "modules_dir", type=PathArg(file_okay=False),
              help="its modules directory, lib/modules/RELEASE (with vfio-pci built as a module)")
@click.option("--kernel-config", type=PathArg(dir_okay=False), help="its .config (default: looked for beside the modules)")
@click.option("--cpu", "cpus", multiple=True, type=click.Choice(["max", "cortex-a57"]),
              help="QEMU CPU model: max has FEAT_S2FWB and VHE, cortex-a57 has neither (default both)")
@click.option("--guest-map", "guest_maps", multiple=True, type=click.Choice(["ioremap", "ioremap_wc"]),
              help="how the guest maps the BARs, as Linux's ioremap (Device-nGnRE) or ioremap_wc "
                   "(Normal-NC) would (default both)")
@click.option("--devices", default="ivshmem,nvme", show_default=True,
              help="devices passed through: ivshmem (BAR 2, prefetchable), nvme (BAR 0, non-prefetchable)")
@click.option("--cache", type=PathArg(file_okay=False), default=str(DEFAULT_CACHE), show_default=True,
              help="where packages, unpacked kernels and the built VMM are kept")
@click.option("--keep", type=PathArg(file_okay=False), help="keep each case's host files (memattr collect layout) here")
@click.option("--timeout", type=click.FloatRange(10, 3600), default=300, show_default=True,
              help="seconds a case may take to boot and park its guest")
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@click.option("-o", "--output", type=PathArg(dir_okay=False, writable=True), help="write the report to FILE")
def lab_cmd(kernels: tuple[str, ...], kernel_debs: tuple[str, ...], kernel_image: str | None,
            modules_dir: str | None, kernel_config: str | None, cpus: tuple[str, ...],
            guest_maps: tuple[str, ...], devices: str, cache: str, keep: str | None, timeout: float,
            as_json: bool, output: str | None) -> int:
    """Boot Debian's arm64 kernels (or yours) under QEMU with KVM at EL2 and an SMMUv3, pass PCI BARs
    through vfio-pci to a guest of a small VMM, and compare every alias memattr predicts with the
    page-table entries the kernels really wrote (read through QEMU's gdbstub).

    Needs qemu-system-aarch64, aarch64-linux-gnu-gcc and apt (make lab-deps installs them on Debian).
    Exit 1 when any alias differs from the prediction.
    """
    from memattr.lab.cases import GUEST_MAPS, run_case
    from memattr.lab.debian import fetch_busybox, fetch_kernel, kernel_from_deb, kernel_from_image
    from memattr.lab.run import DEVICES, build_vmm

    chosen_devices = [name.strip() for name in devices.split(",") if name.strip()]
    unknown = [name for name in chosen_devices if name not in DEVICES]
    if unknown or not chosen_devices:
        raise click.BadParameter(f"unknown device {', '.join(unknown) or '(none)'}; choose from {', '.join(DEVICES)}",
                                 param_hint="--devices")
    cache_dir = Path(cache)
    cache_dir.mkdir(parents=True, exist_ok=True)
    def progress(text: str) -> None:
        click.echo(text, err=True)

    progress(f"fetching packages into {cache_dir} ...")
    if bool(kernel_image) != bool(modules_dir):
        raise click.UsageError("--kernel-image and --modules go together")
    own = bool(kernel_debs or kernel_image)
    kernel_list = [fetch_kernel(cache_dir, name) for name in (kernels or (() if own else ("6.1", "6.12")))]
    kernel_list += [kernel_from_deb(cache_dir, Path(path)) for path in kernel_debs]
    if kernel_image and modules_dir:
        kernel_list.append(kernel_from_image(Path(kernel_image), Path(modules_dir),
                                             Path(kernel_config) if kernel_config else None))
    busybox = fetch_busybox(cache_dir)
    vmm = build_vmm(cache_dir)
    keep_dir = Path(keep) if keep else None
    if keep_dir:
        keep_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for kernel in kernel_list:
        for cpu in cpus or ("max", "cortex-a57"):
            for guest_call in guest_maps or GUEST_MAPS:
                progress(f"booting {kernel.release} on -cpu {cpu}, guest maps with {guest_call} ...")
                result = run_case(kernel, busybox, vmm, cpu=cpu, guest_call=guest_call, devices=chosen_devices,
                                  keep=keep_dir, timeout=timeout)
                progress(f"  {len(result.rows)} aliases, {result.mismatches} mismatches, {result.seconds:.1f} s")
                results.append(result)
    mismatches = sum(result.mismatches for result in results)
    if as_json:
        text = to_json({"cases": [result.to_json() for result in results], "mismatches": mismatches})
    else:
        text = _render(results)
    if output:
        write_atomic(output, text)
    else:
        click.echo(text, nl=False)
    return 1 if mismatches else 0


def _render(results: list) -> str:  # type: ignore[type-arg]
    from rich.table import Table

    tables = []
    for result in results:
        table = Table(title=f"{result.kernel}, -cpu {result.cpu} (FWB={int(bool(result.fwb))}, "
                            f"{'VHE' if result.vhe else 'nVHE'}), guest maps with {result.guest_call}",
                      title_justify="left")
        for column in ("BAR", "alias", "memattr predicts", "the kernel wrote", "match"):
            table.add_column(column, overflow="fold")
        for row in result.rows:
            table.add_row(row.bar, row.alias, row.predicted, row.observed, "yes" if row.match else "[bold]NO[/bold]")
        tables.append(table)
    total = sum(len(r.rows) for r in results)
    mismatches = sum(r.mismatches for r in results)
    summary = f"{len(results)} cases, {total} aliases compared, {mismatches} mismatches\n"
    capture = console(min_width=120)
    with capture.capture() as captured:
        for table in tables:
            capture.print(table)
    return captured.get() + summary
