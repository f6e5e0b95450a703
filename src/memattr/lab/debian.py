"""Debian's arm64 kernels and busybox, fetched with a private apt configuration.

apt-get runs with its own sources list, lists, cache and an empty dpkg status under the lab's cache
directory, restricted to arm64, so the system's sources and packages are never touched; packages
are downloaded (``apt-get download``) and unpacked with ``dpkg-deb -x``, never installed.
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from memattr.errors import MemattrError

MIRROR = "http://deb.debian.org/debian"
# The kernels the lab knows by name: (suite, metapackage).  The metapackage's first dependency is the
# versioned image package (linux-image-6.1.0-NN-arm64, linux-image-6.12.NN+debNN-arm64).
KERNELS = {
    "6.1": ("bookworm", "linux-image-arm64"),
    "6.12": ("bookworm-backports", "linux-image-arm64"),
}
SUITES = ("bookworm", "bookworm-backports")
BUSYBOX = ("bookworm", "busybox-static")


@dataclass(frozen=True, slots=True)
class Kernel:
    """An unpacked kernel package: the image, its config and its modules."""

    release: str  # uname -r
    image: Path
    config: Path | None  # None when not known (a kernel given as an image and a modules directory)
    modules: Path  # lib/modules/RELEASE
    package: str  # the .deb it came from (or the image given)


class Apt:
    def __init__(self, cache: Path) -> None:
        self.root = cache / "apt"
        self.debs = cache / "debs"
        self.unpacked = cache / "unpacked"

    def _options(self) -> list[str]:
        root = self.root
        return ["-o", f"Dir::Etc::SourceList={root / 'sources.list'}", "-o", "Dir::Etc::SourceParts=/dev/null",
                "-o", f"Dir::State::Lists={root / 'lists'}", "-o", f"Dir::Cache={root / 'cache'}",
                "-o", f"Dir::State::status={root / 'status'}", "-o", "APT::Architecture=arm64",
                "-o", "APT::Architectures=arm64", "-o", "Debug::NoLocking=1"]

    def _run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        if not shutil.which(tool):
            raise MemattrError(f"{tool} is not installed", expected="a Debian or Ubuntu host (apt) for the lab")
        result = subprocess.run([tool, *self._options(), *args], capture_output=True, text=True, cwd=cwd,
                                check=False)
        if result.returncode != 0:
            raise MemattrError(f"{tool} {' '.join(args)} failed: {result.stderr.strip()[-300:]}")
        return result.stdout

    def update(self) -> None:
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "status").touch()
        (self.root / "sources.list").write_text(
            "".join(f"deb [arch=arm64] {MIRROR} {suite} main\n" for suite in SUITES))
        lists = list((self.root / "lists").glob("*Packages*"))
        if not lists:
            self._run("apt-get", "update")

    def image_package(self, suite: str, metapackage: str) -> str:
        text = self._run("apt-cache", "show", f"{metapackage}/{suite}")
        match = re.search(r"^Depends: (linux-image-[^\s,]+)", text, re.M)
        if not match:
            raise MemattrError(f"cannot tell which image {metapackage}/{suite} depends on")
        return match.group(1)

    def download(self, package: str, suite: str) -> Path:
        self.debs.mkdir(parents=True, exist_ok=True)
        name = package.split("=")[0]
        found = sorted(self.debs.glob(f"{name}_*_arm64.deb"))
        if not found:
            self._run("apt-get", "download", f"{name}/{suite}", cwd=self.debs)
            found = sorted(self.debs.glob(f"{name}_*_arm64.deb"))
        if not found:
            raise MemattrError(f"apt-get download {name} left no .deb", source=str(self.debs))
        return found[-1]

    def unpack(self, deb: Path) -> Path:
        target = self.unpacked / deb.stem
        if not target.is_dir():
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True)
            os.replace(partial, target)
        return target


def kernel_from_tree(tree: Path, package: str) -> Kernel:
    images = sorted((tree / "boot").glob("vmlinuz-*"))
    if not images:
        raise MemattrError("no boot/vmlinuz-* in the kernel package", source=package)
    release = images[-1].name[len("vmlinuz-"):]
    for base in (tree / "lib/modules", tree / "usr/lib/modules"):
        if (base / release).is_dir():
            return Kernel(release, images[-1], tree / "boot" / f"config-{release}", base / release, package)
    raise MemattrError(f"no lib/modules/{release} in the kernel package", source=package)


def fetch_kernel(cache: Path, name: str) -> Kernel:
    suite, metapackage = KERNELS[name]
    apt = Apt(cache)
    apt.update()
    deb = apt.download(apt.image_package(suite, metapackage), suite)
    return kernel_from_tree(apt.unpack(deb), deb.name)


def kernel_from_image(image: Path, modules: Path, config: Path | None = None) -> Kernel:
    """A kernel built elsewhere: its Image, its modules directory (lib/modules/RELEASE) and its config."""
    if not image.is_file():
        raise MemattrError("not a file", source=str(image), expected="an arm64 kernel Image")
    if not (modules / "kernel").is_dir():
        raise MemattrError("no kernel/ directory inside", source=str(modules), expected="lib/modules/RELEASE")
    if config is None:
        for candidate in (modules / "build/.config", modules.parent.parent.parent / "boot" / f"config-{modules.name}"):
            if candidate.is_file():
                config = candidate
                break
    return Kernel(modules.name, image, config, modules, image.name)


def kernel_from_deb(cache: Path, deb: Path) -> Kernel:
    return kernel_from_tree(Apt(cache).unpack(deb), deb.name)


def fetch_busybox(cache: Path) -> Path:
    apt = Apt(cache)
    apt.update()
    tree = apt.unpack(apt.download(BUSYBOX[1], BUSYBOX[0]))
    path = tree / "bin/busybox"
    if not path.is_file():
        raise MemattrError("busybox-static has no bin/busybox", source=str(tree))
    return path


# -- modules ----------------------------------------------------------------------------------------

def _module_files(modules: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in (modules / "kernel").rglob("*.ko*"):
        stem = path.name.split(".ko")[0].replace("-", "_")
        files.setdefault(stem, path)
    return files


def module_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".zst"):
        raise MemattrError("zstd-compressed modules are not supported", source=str(path))
    return data


def _depends(data: bytes) -> list[str]:
    # The module's .modinfo strings are NUL-separated key=value pairs; "depends=" lists its dependencies.
    match = re.search(rb"(?:^|\x00)depends=([^\x00]*)\x00", data)
    return [name.replace("-", "_") for name in match.group(1).decode().split(",") if name] if match else []


def modules_in_load_order(modules: Path, wanted: list[str]) -> list[tuple[str, bytes]]:
    """The wanted modules and everything they depend on, dependencies first, as (file name, ELF bytes)."""
    files = _module_files(modules)
    order: list[tuple[str, bytes]] = []
    done: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in chain:
            raise MemattrError(f"module dependency cycle: {' -> '.join(chain + (name,))}")
        path = files.get(name)
        if path is None:
            raise MemattrError(f"module {name} is not in the kernel package (built in?)", source=str(modules))
        data = module_bytes(path)
        for dependency in _depends(data):
            if dependency in files:
                visit(dependency, chain + (name,))
        done.add(name)
        order.append((path.name.split(".ko")[0] + ".ko", data))

    for name in wanted:
        visit(name.replace("-", "_"), ())
    return order
