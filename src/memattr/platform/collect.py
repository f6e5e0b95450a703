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
from memattr.inputs import read_bytes
from memattr.linux.evidence import CPU_FEATURES_LINE
from memattr.output import current_umask
from memattr.platform.sysfs_pci import BDF

# The kallsyms lines worth keeping: KVM and vfio symbols that tell which changes a kernel carries.
SYMBOL_PREFIXES = ("kvm_", "vfio_", "nvgrace", "user_mem_abort", "stage2_", "pci_mmap_resource")


@dataclass
class Manifest:
    collected: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"format": "memattr-host/1", "collected": sorted(self.collected),
                "unreadable": dict(sorted(self.unreadable.items()))}


def _put(staging: Path, manifest: Manifest, name: str, data: str | bytes) -> None:
    """Write one collected file into the staging directory and list it in the manifest."""
    out = staging / name
    out.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        out.write_text(data)
    else:
        out.write_bytes(data)
    manifest.collected.append(name)


def collect(outdir: str | os.PathLike[str], root: str | os.PathLike[str] = "/",
            run_lspci: bool = True, release: str | None = None) -> Manifest:
    """Copy a host's files into ``outdir`` (new, or an existing empty directory); writes nothing else.

    Files are gathered in a hidden staging directory inside ``outdir`` and moved into place at the
    end, ``manifest.json`` last; on any error or signal the staging directory is removed (and
    ``outdir`` too when this call created it).  Nothing outside ``root`` is read: a symlink that
    resolves outside it is refused and listed as not collected.
    """
    target = Path(outdir)
    created = False
    if os.path.lexists(target):
        if target.is_symlink() or not target.is_dir():
            raise MemattrError("already exists and is not a directory", source=str(target),
                               expected="a new directory name or an existing empty directory")
        try:
            if any(target.iterdir()):
                raise MemattrError("already exists and is not empty", source=str(target),
                                   expected="a new directory name or an existing empty directory")
        except OSError as error:
            raise MemattrError(f"cannot read: {error.strerror}", source=str(target)) from None
    else:
        try:
            target.mkdir()  # mode 0777 & ~umask, as mkdir(1)
        except OSError as error:
            raise MemattrError(f"cannot create: {error.strerror}", source=str(target),
                               expected="a directory path whose parent exists and is writable") from None
        created = True
    base = Path(os.path.realpath(root))
    try:
        staging = Path(tempfile.mkdtemp(prefix=".collect-", dir=target))
    except OSError as error:
        raise MemattrError(f"cannot write: {error.strerror}", source=str(target)) from None
    os.chmod(staging, 0o777 & ~current_umask())
    manifest = Manifest()
    try:
        _collect_into(staging, base, manifest, run_lspci, release)
        (staging / "manifest.json").write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
        for entry in sorted(staging.iterdir(), key=lambda p: p.name == "manifest.json"):
            os.replace(entry, target / entry.name)
        staging.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for entry in target.iterdir():  # what was moved before the failure
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        raise
    return manifest


def _inside(base: Path, relative: str) -> tuple[Path | None, str | None]:
    """The resolved path of ``base/relative`` if it stays inside ``base``; else why not."""
    resolved = Path(os.path.realpath(base / relative))
    if resolved != base and base not in resolved.parents:
        return None, f"symlink leaves the root ({relative} resolves to {resolved})"
    return resolved, None


def _copy(base: Path, relative: str, staging: Path, manifest: Manifest, dest: str | None = None,
          transform=None) -> bool:  # type: ignore[no-untyped-def]
    name = dest or relative
    source, why = _inside(base, relative)
    if source is None:
        manifest.unreadable[name] = why or "outside the root"
        return False
    if not os.path.lexists(source):
        return False
    try:
        data = read_bytes(source, "collect", label=relative)
    except MemattrError as error:
        manifest.unreadable[name] = error.message
        return False
    if transform is not None:
        try:
            data = transform(data)
        except (OSError, EOFError, ValueError) as error:
            manifest.unreadable[name] = f"cannot decode: {error}"
            return False
    _put(staging, manifest, name, data)
    return True


def _collect_into(staging: Path, base: Path, manifest: Manifest, run_lspci: bool, release: str | None) -> None:
    release = release or (platform.release() if str(base) == "/" else None)
    if release:
        _put(staging, manifest, "uname-r", release + "\n")
    if str(base) == "/":
        _put(staging, manifest, "uname-m", platform.machine() + "\n")
        _put(staging, manifest, "hostname", platform.node() + "\n")
    else:
        _copy(base, "etc/hostname", staging, manifest, dest="hostname")
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
            _put(staging, manifest, "lspci.txt", result.stdout)
        else:
            manifest.unreadable["lspci.txt"] = result.stderr.strip()[:200] or f"exit {result.returncode}"
    elif run_lspci and str(base) == "/":
        manifest.unreadable["lspci.txt"] = "lspci is not installed (pciutils)"
    if str(base) == "/" and shutil.which("dmesg"):
        result = subprocess.run(["dmesg"], capture_output=True, text=True, check=False)
        if result.returncode == 0:
            _put(staging, manifest, "dmesg.txt", result.stdout)
        else:
            manifest.unreadable["dmesg.txt"] = "dmesg not readable (kernel.dmesg_restrict; needs root)"
    else:
        _copy(base, "dmesg.txt", staging, manifest)
    _cpu_features(staging, manifest)
    if str(base) == "/":
        _kvm_caps(staging, manifest)
        if os.geteuid() != 0:
            manifest.unreadable.setdefault("(root)", "not run as root: /proc/iomem addresses, debugfs page tables "
                                                     "and the kernel log may be missing; run as root for all")
        if not (base / "sys/kernel/debug").is_dir() or not any((base / "sys/kernel/debug").iterdir()):
            manifest.unreadable.setdefault("sys/kernel/debug", "debugfs not mounted or not readable")


# The boot log's CPU capability lines (CPU_FEATURES_LINE) are kept apart so they can be shared when the
# whole log cannot.


def _cpu_features(staging: Path, manifest: Manifest) -> None:
    log = staging / "dmesg.txt"
    if not log.exists():
        return
    lines = [line for line in log.read_text(errors="replace").splitlines() if CPU_FEATURES_LINE in line]
    if lines:
        _put(staging, manifest, "cpu-features.txt", "\n".join(lines) + "\n")


# KVM_CHECK_EXTENSION = _IO(KVMIO, 0x03) (include/uapi/linux/kvm.h); the capabilities that tell which
# stage-2 policy and features the running KVM has.
KVM_CHECK_EXTENSION = 0xAE03
KVM_CAPS = {
    "KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED": 243,  # v6.17: 1 when cacheable PFNMAP is supported (FWB and DIC)
    "KVM_CAP_ARM_EL2": 240,  # nested virtualisation
    "KVM_CAP_ARM_MTE": 205,
    "KVM_CAP_ARM_NISV_TO_USER": 177,
}


def _kvm_caps(staging: Path, manifest: Manifest) -> None:
    import fcntl

    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as error:
        manifest.unreadable["kvm-caps"] = f"/dev/kvm: {error.strerror or error}"
        return
    try:
        lines = []
        for name, number in KVM_CAPS.items():
            try:
                lines.append(f"{name}={fcntl.ioctl(fd, KVM_CHECK_EXTENSION, number)}")
            except OSError as error:
                lines.append(f"{name}=error {error.errno}")
        _put(staging, manifest, "kvm-caps", "\n".join(lines) + "\n")
    finally:
        os.close(fd)


def _filter_kallsyms(data: bytes) -> bytes:
    keep = [line for line in data.decode(errors="replace").splitlines()
            if len(line.split()) >= 3 and line.split()[2].startswith(SYMBOL_PREFIXES)]
    return ("\n".join(keep) + "\n").encode() if keep else b""


def _copy_kvm(base: Path, staging: Path, manifest: Manifest) -> None:
    kvm, why = _inside(base, "sys/kernel/debug/kvm")
    if kvm is None:
        manifest.unreadable["sys/kernel/debug/kvm"] = why or "outside the root"
        return
    try:
        entries = sorted(kvm.iterdir())
    except FileNotFoundError:
        return
    except PermissionError:
        manifest.unreadable["sys/kernel/debug/kvm"] = "permission denied (needs root and debugfs)"
        return
    except OSError as error:
        manifest.unreadable["sys/kernel/debug/kvm"] = error.strerror or str(error)
        return
    for entry in entries:
        _copy(base, f"sys/kernel/debug/kvm/{entry.name}/stage2_page_tables", staging, manifest)


def _copy_pci(base: Path, staging: Path, manifest: Manifest) -> None:
    devices, why = _inside(base, "sys/bus/pci/devices")
    if devices is None:
        manifest.unreadable["sys/bus/pci/devices"] = why or "outside the root"
        return
    try:
        entries = sorted(devices.iterdir())
    except FileNotFoundError:
        return
    except OSError as error:
        manifest.unreadable["sys/bus/pci/devices"] = error.strerror or str(error)
        return
    for entry in entries:
        if not BDF.match(entry.name):
            continue
        relative = f"sys/bus/pci/devices/{entry.name}"
        for name in ("resource", "vendor", "device", "class"):
            _copy(base, f"{relative}/{name}", staging, manifest)
        driver = base / relative / "driver"
        if driver.is_symlink():
            _put(staging, manifest, f"{relative}/driver", Path(os.readlink(driver)).name + "\n")
