"""The lab's initramfs: busybox, the vfio modules, the VMM and an init script, as a gzip'd newc cpio.

The newc format is the kernel's own (Documentation/driver-api/early-userspace/buffer-format.rst):
a "070701" header of thirteen 8-digit hex fields, the NUL-terminated name, the data, each padded
to 4 bytes, and a "TRAILER!!!" entry.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

MARK = "MEMATTR-LAB"


def _pad(length: int) -> bytes:
    return b"\0" * (-length % 4)


def cpio_newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """(path, mode, data) entries -> a newc archive; a symlink's data is its target."""
    out = bytearray()
    for ino, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        header = b"070701" + b"".join(f"{value:08X}".encode() for value in fields)
        out += header + encoded + _pad(len(header) + len(encoded)) + data + _pad(len(data))
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Passthrough:
    """One BAR the VMM hands to the guest."""

    bdf: str
    bar: int
    ipa: int
    write: bool


def init_script(modules: list[str], devices: list[Passthrough], mair: int, bar_index: int, ram_index: int) -> str:
    """The init: load the modules, bind each device to vfio-pci, start the VMM, dump the host's files."""
    lines = [
        "#!/bin/busybox sh",
        "/bin/busybox --install -s /bin",
        "mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev",
        f'echo "{MARK} BOOTED $(uname -r)"',
    ]
    for module in modules:
        lines.append(f"insmod /lib/modules/{module} 2>&1 | sed 's/^/{MARK} INSMOD {module}: /'")
    lines.append('ARGS=""')
    for device in sorted({d.bdf for d in devices}):
        path = f"/sys/bus/pci/devices/{device}"
        lines += [
            f"echo vfio-pci > {path}/driver_override",
            f"[ -e {path}/driver ] && echo {device} > {path}/driver/unbind",
            f"echo {device} > /sys/bus/pci/drivers_probe",
            f'G_{device.replace(":", "_").replace(".", "_")}=$(basename "$(readlink {path}/iommu_group)")',
        ]
    for device in devices:
        group = f'$G_{device.bdf.replace(":", "_").replace(".", "_")}'
        lines.append(f'ARGS="$ARGS {group}:{device.bdf}:{device.bar}:{device.ipa:x}:{int(device.write)}"')
    lines += [
        f"/vmm {mair:#x} {bar_index} {ram_index} $ARGS > /tmp/vmm.out 2>&1 &",
        f"n=0; while ! grep -q -E '{MARK} (PARKED|ERROR)' /tmp/vmm.out && [ $n -lt 120 ]; do sleep 1; n=$((n+1)); done",
        f"sed 's/^/{MARK} VMM /' /tmp/vmm.out",
        # The files memattr collect reads, laid out under a root directory.
        "C=/tmp/c; mkdir -p $C/proc $C/etc",
        # kptr_restrict=1: /proc/vmallocinfo prints real addresses to root (with 0, %pK hashes them).
        "echo 1 > /proc/sys/kernel/kptr_restrict",
        "for f in iomem vmallocinfo modules; do cat /proc/$f > $C/proc/$f; done",
        "dmesg > $C/dmesg.txt",
        "for d in /sys/bus/pci/devices/*; do b=$(basename $d); mkdir -p $C/sys/bus/pci/devices/$b;"
        " for f in resource vendor device class; do cat $d/$f > $C/sys/bus/pci/devices/$b/$f; done;"
        " [ -e $d/driver ] && basename \"$(readlink $d/driver)\" > $C/sys/bus/pci/devices/$b/driver.name; done",
        f"echo {MARK} FILES-BEGIN; tar -C $C -cz . | base64; echo {MARK} FILES-END",
        f"echo {MARK} READY",
        "while true; do sleep 1000; done",
    ]
    return "\n".join(lines) + "\n"


def build(busybox: bytes, vmm: bytes, modules: list[tuple[str, bytes]], script: str) -> bytes:
    entries: list[tuple[str, int, bytes]] = [
        (name, 0o40755, b"") for name in ("bin", "sbin", "dev", "proc", "sys", "tmp", "lib", "lib/modules")]
    entries += [("bin/busybox", 0o100755, busybox), ("bin/sh", 0o120777, b"busybox"),
                ("vmm", 0o100755, vmm), ("init", 0o100755, script.encode())]
    entries += [(f"lib/modules/{name}", 0o100644, data) for name, data in modules]
    return gzip.compress(cpio_newc(entries), compresslevel=1, mtime=0)
