"""Collect what memattr reads from a live Linux host into one directory (the layout of ``host.FILES``).

Only readable files are copied; what needs root is listed as unreadable with the reason in
``manifest.json``.  Everything is written into a temporary directory beside OUTDIR and renamed at the
end, so an interrupted run leaves nothing half-written.  ``root`` is a parameter so tests can point
it at a fake tree.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from memattr.errors import MemattrError

# The kallsyms lines worth keeping: KVM and vfio symbols that tell which changes a kernel carries.
SYMBOL_PREFIXES = ("kvm_", "vfio_", "nvgrace", "user_mem_abort", "stage2_", "pci_mmap_resource")


@dataclass
class Manifest:
    collected: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"format": "memattr-host/1", "collected": sorted(self.collected),
                "unreadable": dict(sorted(self.unreadable.items()))}


def collect(outdir: str | os.PathLike[str], root: str | os.PathLike[str] = "/",
            run_lspci: bool = True, release: str | None = None) -> Manifest:
    target = Path(outdir)
    if target.exists():
        raise MemattrError("already exists", source=str(target), expected="a new directory name")
    base = Path(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    manifest = Manifest()
    try:
        _collect_into(staging, base, manifest, run_lspci, release)
        (staging / "manifest.json").write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _copy(base: Path, relative: str, staging: Path, manifest: Manifest, dest: str | None = None,
          transform=None) -> bool:  # type: ignore[no-untyped-def]
    source = base / relative
    name = dest or relative
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        return False
    except PermissionError:
        manifest.unreadable[name] = "permission denied (needs root)"
        return False
    except OSError as error:
        manifest.unreadable[name] = error.strerror or str(error)
        return False
    if transform is not None:
        data = transform(data)
    out = staging / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    manifest.collected.append(name)
    return True


def _collect_into(staging: Path, base: Path, manifest: Manifest, run_lspci: bool, release: str | None) -> None:
    release = release or (platform.release() if str(base) == "/" else None)
    if release:
        (staging / "uname-r").write_text(release + "\n")
        manifest.collected.append("uname-r")
    for relative in ("proc/iomem", "proc/vmallocinfo", "proc/modules", "sys/firmware/fdt",
                     "sys/kernel/debug/kernel_page_tables"):
        _copy(base, relative, staging, manifest)
    iomem = staging / "proc/iomem"
    if iomem.exists() and all(line.strip().startswith("00000000-00000000") for line in
                              iomem.read_text(errors="replace").splitlines() if line.strip()):
        manifest.unreadable["proc/iomem"] = "read without root: every range is zero (run memattr collect as root)"
        iomem.unlink()
        manifest.collected.remove("proc/iomem")
    _copy(base, "proc/kallsyms", staging, manifest, transform=_filter_kallsyms)
    if not _copy(base, "proc/config.gz", staging, manifest, dest="config", transform=gzip.decompress):
        if release:
            _copy(base, f"boot/config-{release}", staging, manifest, dest="config")
    _copy_kvm(base, staging, manifest)
    _copy_pci(base, staging, manifest)
    if run_lspci and str(base) == "/" and shutil.which("lspci"):
        result = subprocess.run(["lspci", "-vvvnnD"], capture_output=True, text=True, check=False)
        if result.returncode == 0:
            (staging / "lspci.txt").write_text(result.stdout)
            manifest.collected.append("lspci.txt")
        else:
            manifest.unreadable["lspci.txt"] = result.stderr.strip()[:200] or f"exit {result.returncode}"
    if str(base) == "/" and shutil.which("dmesg"):
        result = subprocess.run(["dmesg"], capture_output=True, text=True, check=False)
        if result.returncode == 0:
            (staging / "dmesg.txt").write_text(result.stdout)
            manifest.collected.append("dmesg.txt")
        else:
            manifest.unreadable["dmesg.txt"] = "dmesg not readable (kernel.dmesg_restrict; needs root)"
    else:
        _copy(base, "dmesg.txt", staging, manifest)


def _filter_kallsyms(data: bytes) -> bytes:
    keep = [line for line in data.decode(errors="replace").splitlines()
            if len(line.split()) >= 3 and line.split()[2].startswith(SYMBOL_PREFIXES)]
    return ("\n".join(keep) + "\n").encode() if keep else b""


def _copy_kvm(base: Path, staging: Path, manifest: Manifest) -> None:
    kvm = base / "sys/kernel/debug/kvm"
    try:
        entries = sorted(kvm.iterdir())
    except FileNotFoundError:
        return
    except PermissionError:
        manifest.unreadable["sys/kernel/debug/kvm"] = "permission denied (needs root and debugfs)"
        return
    for entry in entries:
        if (entry / "stage2_page_tables").exists():
            _copy(base, str((entry / "stage2_page_tables").relative_to(base)), staging, manifest)


def _copy_pci(base: Path, staging: Path, manifest: Manifest) -> None:
    devices = base / "sys/bus/pci/devices"
    try:
        entries = sorted(devices.iterdir())
    except FileNotFoundError:
        return
    for entry in entries:
        relative = f"sys/bus/pci/devices/{entry.name}"
        for name in ("resource", "vendor", "device", "class"):
            _copy(base, f"{relative}/{name}", staging, manifest)
        driver = entry / "driver"
        if driver.is_symlink():
            out = staging / relative / "driver"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(Path(os.readlink(driver)).name + "\n")
            manifest.collected.append(f"{relative}/driver")
