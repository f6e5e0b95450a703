"""Load a host directory (as written by ``memattr collect``, or assembled by hand) into an inventory.

Layout (every file optional; at least one source of regions is needed)::

    uname-r                              kernel release
    proc/iomem, proc/vmallocinfo         resource tree, ioremap areas
    proc/modules, proc/kallsyms, config  policy evidence (config: /proc/config.gz decompressed)
    sys/bus/pci/devices/BDF/{resource,vendor,device,class,driver}
    sys/firmware/fdt                     the device tree blob
    sys/kernel/debug/kernel_page_tables  host ptdump
    sys/kernel/debug/kvm/*/stage2_page_tables
    lspci.txt                            lspci -vvvnn
    dmesg.txt                            the kernel log

Every file is parsed; problems from all files are collected and reported together.  Sources that
describe the same BAR are cross-checked.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Callable

from memattr.errors import MemattrError, join_problems
from memattr.inputs import parse_int, read_bytes, read_text
from memattr.platform.devicetree import parse_dtb
from memattr.platform.inventory import Bar, HostInventory, IomemEntry, PciDevice, PlatformDevice
from memattr.platform.iomem import parse_iomem, pci_bar_ranges, platform_ranges
from memattr.platform.kernel_files import parse_config, parse_kallsyms, parse_modules, parse_release
from memattr.platform.kmsg import KernelLog, parse_kmsg
from memattr.platform.lspci import parse_lspci
from memattr.platform.mtree import parse_mtree
from memattr.platform.ptdump import parse_kernel_page_tables, parse_stage2_page_tables, parse_vmallocinfo
from memattr.platform.sysfs_pci import parse_sysfs_devices

FILES = {
    "release": "uname-r",
    "machine": "uname-m",
    "iomem": "proc/iomem",
    "vmallocinfo": "proc/vmallocinfo",
    "modules": "proc/modules",
    "kallsyms": "proc/kallsyms",
    "config": "config",
    "sysfs": "sys/bus/pci/devices",
    "fdt": "sys/firmware/fdt",
    "ptdump": "sys/kernel/debug/kernel_page_tables",
    "kvm": "sys/kernel/debug/kvm",
    "lspci": "lspci.txt",
    "mtree": "qemu-mtree.txt",
    "kvm_caps": "kvm-caps",
    "cpu_features": "cpu-features.txt",
    "dmesg": "dmesg.txt",
}


def load_host(
    directory: str | os.PathLike[str] | None,
    name: str | None = None,
    overrides: dict[str, str | os.PathLike[str]] | None = None,
) -> HostInventory:
    """Load a host directory; ``overrides`` maps keys of :data:`FILES` to files given one by one."""
    overrides = {key: Path(value) for key, value in (overrides or {}).items()}
    unknown = set(overrides) - set(FILES)
    if unknown:
        raise MemattrError(f"unknown input kind(s) {', '.join(sorted(unknown))}", expected=", ".join(FILES))
    stdin_keys = [key for key, path in overrides.items() if str(path) == "-"]
    if len(stdin_keys) > 1:
        raise MemattrError(f"standard input given for {' and '.join(stdin_keys)}", expected="'-' for one input at most")
    if stdin_keys and stdin_keys[0] in ("sysfs", "kvm", "fdt"):
        raise MemattrError(f"'-' cannot stand for the {stdin_keys[0]} input", expected="a path")
    for key, path in overrides.items():
        if str(path) == "-":
            continue  # standard input, e.g. `lspci -vvnn | memattr audit --lspci -`
        if not os.path.lexists(path):
            raise MemattrError("no such file or directory", source=str(path), expected=f"the {key} input")
    if directory is None:
        root = Path(os.devnull).parent / "nonexistent-memattr-host"
        if not overrides:
            raise MemattrError("nothing to read", expected="a host directory or input files such as --iomem")
    else:
        root = Path(directory)
        if not root.is_dir():
            raise MemattrError("not a directory", source=str(root),
                               expected="a host directory (memattr collect OUTDIR)")
    problems: list[MemattrError] = []
    inputs: list[str] = []

    # Positions are reported relative to the host directory, so reports do not depend on where it lies.
    def rel(p: Path) -> str:
        if str(p) == "-":
            return "<stdin>"
        try:
            return str(p.relative_to(root))
        except ValueError:
            return str(p)


    def path_of(key: str) -> Path:
        return overrides.get(key, root / FILES[key])

    def attempt(key: str, parse: Callable[[Path], object], default: object) -> object:
        path = path_of(key)
        if str(path) != "-" and not os.path.lexists(path):
            return default
        inputs.append(rel(path))
        try:
            return parse(path)
        except MemattrError as error:
            problems.append(error)
        return default

    def text(path: Path, kind: str) -> str:
        if str(path) == "-":
            return read_text("-", kind, label="<stdin>", allow_stdin=True)
        return read_text(path, kind, label=rel(path))

    dmesg_text: list[str] = []

    def read_dmesg(path: Path) -> KernelLog:
        content = text(path, "dmesg")
        dmesg_text.append(content)
        return parse_kmsg(content, rel(path))

    release = attempt("release", lambda p: parse_release(text(p, "release"), rel(p)), None)
    machine = attempt("machine", lambda p: text(p, "release").strip() or None, None)
    iomem = attempt("iomem", lambda p: parse_iomem(text(p, "iomem"), rel(p)), ())
    vmalloc = attempt("vmallocinfo", lambda p: parse_vmallocinfo(text(p, "vmallocinfo"), rel(p)), {})
    modules = attempt("modules", lambda p: parse_modules(text(p, "modules"), rel(p)), frozenset())
    symbols = attempt("kallsyms", lambda p: parse_kallsyms(text(p, "kallsyms"), rel(p)), frozenset())
    config = attempt("config", lambda p: parse_config(text(p, "config"), rel(p)), {})
    sysfs = attempt("sysfs", lambda p: parse_sysfs_devices(p, label=rel(p)), ())
    platform = attempt("fdt", lambda p: parse_dtb(read_bytes(p, "fdt", label=rel(p)), rel(p)), ())
    ptdump = attempt("ptdump", lambda p: parse_kernel_page_tables(text(p, "ptdump"), vmalloc, rel(p)), ())  # type: ignore[arg-type]
    lspci_notes: list[str] = []
    lspci = attempt("lspci", lambda p: parse_lspci(text(p, "lspci"), rel(p), lspci_notes), ())
    kmsg = attempt("dmesg", read_dmesg, KernelLog())
    mtree = attempt("mtree", lambda p: parse_mtree(text(p, "mtree"), rel(p)), ())
    kvm_caps = attempt("kvm_caps", lambda p: parse_kvm_caps(text(p, "release"), rel(p)), {})
    cpu_features = attempt("cpu_features", lambda p: tuple(text(p, "dmesg").splitlines()), ())
    boot_log = tuple(dmesg_text[0].splitlines()) if dmesg_text else ()
    boot_log += tuple(cpu_features)  # type: ignore[arg-type]
    stage2 = []
    kvm_dir = path_of("kvm")
    if kvm_dir.is_dir():
        for dump in sorted(kvm_dir.glob("*/stage2_page_tables")):
            inputs.append(rel(dump))
            try:
                stage2.extend(parse_stage2_page_tables(text(dump, "stage2"), rel(dump)))
            except MemattrError as error:
                problems.append(error)
    if problems:
        raise join_problems(problems)
    if not (sysfs or lspci or kmsg or platform or iomem):
        raise MemattrError("no region sources found", source=str(directory) if directory else None,
                           expected=f"at least one of {FILES['iomem']}, {FILES['sysfs']}, {FILES['lspci']}, "
                                    f"{FILES['dmesg']}, {FILES['fdt']}")
    pci, disagreements, warnings = _merge_pci(sysfs, lspci, kmsg)  # type: ignore[arg-type]
    pci, platform, iomem_notes = _merge_iomem(pci, platform, iomem)  # type: ignore[arg-type]
    warnings += iomem_notes
    if vmalloc and all(va >> 32 == 0 for va in vmalloc):  # type: ignore[union-attr]
        # lib/vsprintf.c: %pK hashes addresses unless kptr_restrict is 1 and the reader has CAP_SYSLOG (and
        # is always hashed with kptr_restrict 0): no arm64 kernel address has its top 32 bits clear.
        warnings.append(f"{FILES['vmallocinfo']}: addresses are hashed (kernel.kptr_restrict=0 or not root): "
                        "ioremap areas cannot be matched with page-table dumps; collect as root with "
                        "kernel.kptr_restrict=1")
    warnings = lspci_notes + list(kmsg.warnings) + warnings  # type: ignore[union-attr]
    return HostInventory(
        name=name or _host_name(root if directory is not None else None, overrides),
        machine=machine, guest_pieces=mtree, kvm_caps=kvm_caps, release=release or kmsg.release, iomem=iomem, pci=pci, platform=platform,  # type: ignore[arg-type]
        page_tables=ptdump, stage2=tuple(stage2), config=config, modules=modules, symbols=symbols,  # type: ignore[arg-type]
        boot_log=boot_log, warnings=tuple(warnings), inputs=tuple(inputs), bar_disagreements=tuple(disagreements),
    )


def parse_kvm_caps(text: str, source: str) -> dict[str, int]:
    """``memattr collect``'s kvm-caps: ``KVM_CAP_NAME=VALUE`` per line (KVM_CHECK_EXTENSION answers)."""
    caps: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        name, _, value = line.partition("=")
        if not re.fullmatch(r"KVM_CAP_\w{1,60}", name):
            raise MemattrError(f"not a capability line: {line[:60]!r}", source=source, line=number,
                               expected="KVM_CAP_NAME=VALUE")
        if value.startswith("error"):
            continue
        caps[name] = parse_int(value, 10, source=source, line=number, what="a KVM_CHECK_EXTENSION answer", bits=32)
    return caps


def _merge_iomem(pci: tuple[PciDevice, ...], platform: tuple[PlatformDevice, ...],
                 iomem: tuple[IomemEntry, ...]) -> tuple[tuple[PciDevice, ...], tuple[PlatformDevice, ...], list[str]]:
    """Add what only /proc/iomem shows: BAR ranges of functions no other source describes, and platform
    MMIO ranges no device tree gave; confirm (as a source) the BARs other sources describe."""
    notes: list[str] = []
    if not iomem:
        return pci, platform, notes
    by_bdf = {device.bdf: device for device in pci}
    for bdf, ranges in pci_bar_ranges(iomem).items():
        where = [f"proc/iomem:{r.line}" for r in ranges]
        device = by_bdf.get(bdf)
        if device is not None and device.bars:
            bars = []
            for bar in device.bars:
                same = [w for r, w in zip(ranges, where) if r.start == bar.start and r.end == bar.end]
                bars.append(replace(bar, sources=bar.sources + tuple(same)) if same else bar)
            by_bdf[bdf] = replace(device, bars=tuple(bars))
            continue
        # Only iomem knows this function: its BAR numbers and prefetchability are unknown, so each range
        # is audited as a non-prefetchable BAR (the safe assumption) and said to be so.
        bars = tuple(Bar(index=n, start=r.start, end=r.end, memory=True, prefetchable=False, is_64bit=r.end >> 32 > 0,
                         sources=(w,), index_known=False) for n, (r, w) in enumerate(zip(ranges, where)))
        notes.append(f"{bdf}: only /proc/iomem describes it ({', '.join(where)}): BAR numbers and prefetchability "
                     "unknown, audited as non-prefetchable")
        by_bdf[bdf] = replace(device or PciDevice(bdf=bdf), bars=bars, sources=tuple(where))
    covered = [(start, start + size - 1) for node in platform for start, size in node.regs]
    # A device's ranges appear under its name, one line each ("2c00000.memory-controller"; a name given to
    # the resource may follow, "14100000.pcie appl"): one platform device per name, its ranges in iomem order.
    ranges: dict[str, list[IomemEntry]] = {}
    for entry in platform_ranges(iomem):
        if any(start <= entry.start and entry.end <= end for start, end in covered):
            continue
        ranges.setdefault(entry.name.split()[0], []).append(entry)
    extra = [PlatformDevice(path=name, compatible=(), regs=tuple((e.start, e.size) for e in found),
                            source=f"proc/iomem:{found[0].line}",
                            reg_sources=tuple(f"proc/iomem:{e.line}" for e in found))
             for name, found in ranges.items()]
    return tuple(by_bdf[b] for b in sorted(by_bdf)), tuple(platform) + tuple(extra), notes


def _host_name(root: Path | None, overrides: dict[str, Path]) -> str:
    """--name, else a collected hostname file, else the directory's name, else the first file's directory."""
    if root is not None:
        hostname = root / "hostname"
        if hostname.is_file():
            try:
                text = read_text(hostname, "release").strip()
            except MemattrError:
                text = ""
            if text and len(text) < 256 and not any(c.isspace() for c in text):
                return text
        return Path(os.path.abspath(root)).name or str(root)
    files = [overrides[key] for key in sorted(overrides) if str(overrides[key]) != "-"]
    if not files:
        return "stdin"
    return Path(os.path.abspath(files[0])).parent.name or files[0].name


def _merge_pci(
    sysfs: tuple[PciDevice, ...], lspci: tuple[PciDevice, ...], kmsg: KernelLog
) -> tuple[tuple[PciDevice, ...], list[tuple[str, int, str]], list[str]]:
    """sysfs is authoritative for addresses and flags; lspci adds names, drivers and MSI-X blocks."""
    by_bdf: dict[str, PciDevice] = {d.bdf: d for d in sysfs}
    disagreements: list[tuple[str, int, str]] = []
    warnings: list[str] = []
    for device in lspci:
        base = by_bdf.get(device.bdf)
        if base is None:
            by_bdf[device.bdf] = device
            continue
        merged_bars = []
        lspci_bars = {bar.index: bar for bar in device.bars}
        for bar in base.bars:
            other = lspci_bars.get(bar.index)
            if other is not None:
                if other.start != bar.start and not other.virtual:
                    disagreements.append((device.bdf, bar.index,
                                          f"address {bar.start:#x} in sysfs, {other.start:#x} in lspci"))
                if other.prefetchable != bar.prefetchable:
                    disagreements.append((device.bdf, bar.index,
                                          f"sysfs flags {bar.flags or 0:#x} say {'' if bar.prefetchable else 'non-'}"
                                          f"prefetchable, lspci says {'' if other.prefetchable else 'non-'}prefetchable"))
                bar = replace(bar, virtual=other.virtual, decode_off=bar.decode_off or other.decode_off,
                              sources=bar.sources + other.sources)
            merged_bars.append(bar)
        by_bdf[device.bdf] = replace(
            base, description=device.description or base.description, driver=base.driver or device.driver,
            vendor=base.vendor if base.vendor is not None else device.vendor,
            device=base.device if base.device is not None else device.device,
            class_code=base.class_code if base.class_code is not None else device.class_code,
            bars=tuple(merged_bars) if base.bars else device.bars,
            register_blocks=device.register_blocks, sources=base.sources + device.sources,
        )
    for bdf, (vendor, device_id, class_code) in kmsg.ids.items():
        base = by_bdf.get(bdf)
        if base is None:
            by_bdf[bdf] = PciDevice(bdf=bdf, vendor=vendor, device=device_id, class_code=class_code)
        else:
            by_bdf[bdf] = replace(base, vendor=base.vendor if base.vendor is not None else vendor,
                                  device=base.device if base.device is not None else device_id,
                                  class_code=base.class_code if base.class_code is not None else class_code)
    for bdf, vfs in kmsg.vf_bars.items():
        base = by_bdf.get(bdf) or PciDevice(bdf=bdf)
        by_bdf[bdf] = replace(base, vf_bars=tuple(vfs[i] for i in sorted(vfs)))
    for bdf, bars in kmsg.bars.items():
        base = by_bdf.get(bdf)
        if base is None or not base.bars:
            base = base or PciDevice(bdf=bdf)
            by_bdf[bdf] = replace(base, bars=tuple(bars[i] for i in sorted(bars)),
                                  sources=base.sources + tuple(bar.sources[0] for bar in bars.values()))
            continue
        known = {bar.index: bar for bar in base.bars}
        for index, bar in bars.items():
            other = known.get(index)
            if other is None:
                continue
            if other.start == bar.start and other.end == bar.end:
                # The same BAR: the region lists the kernel log among its sources too.
                known[index] = replace(other, sources=other.sources + tuple(
                    source for source in bar.sources if source not in other.sources))
            if other.prefetchable != bar.prefetchable:
                disagreements.append((bdf, index, f"the kernel log says {'' if bar.prefetchable else 'non-'}"
                                                  f"prefetchable ({bar.sources[0]}), other sources disagree"))
            if other.start != bar.start:
                warnings.append(f"{bdf} BAR {index}: kernel log address {bar.start:#x} differs from "
                                f"{other.start:#x} (reassigned after boot?)")
        by_bdf[bdf] = replace(base, bars=tuple(known[bar.index] for bar in base.bars))
    for bdf, driver in kmsg.drivers.items():
        base = by_bdf.get(bdf)
        if base is not None and base.driver is None:  # sysfs and lspci name the driver bound now; the log, at boot
            by_bdf[bdf] = replace(base, driver=driver)
    return tuple(by_bdf[bdf] for bdf in sorted(by_bdf)), disagreements, warnings
