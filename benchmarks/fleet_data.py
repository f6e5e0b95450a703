"""Synthetic fleets for the fleet benchmark and tests: hosts with N PCI functions each."""

from __future__ import annotations

from pathlib import Path

KINDS = (
    # (vendor, device, class, driver, BARs as (size, prefetchable))
    ("15b3", "101d", "020000", "vfio-pci", ((32 << 20, True),)),
    ("10de", "20f1", "030200", "vfio-pci", ((16 << 20, False), (64 << 30, True), (32 << 20, True))),
    ("144d", "a80a", "010802", "nvme", ((16 << 10, False),)),
    ("8086", "1521", "020000", "igb", ((1 << 20, False), (16 << 10, False))),
)


def make_host(root: Path, name: str, functions: int, release: str = "6.9.0") -> Path:
    host = root / name
    devices = host / "sys/bus/pci/devices"
    devices.mkdir(parents=True)
    (host / "uname-r").write_text(release + "\n")
    (host / "dmesg.txt").write_text("[    0.010000] CPU features: detected: Stage-2 Force Write-Back\n")
    lspci = []
    address = 0x80_0000_0000
    for n in range(functions):
        vendor, device, cls, driver, bars = KINDS[n % len(KINDS)]
        bdf = f"0000:{(n // 8) + 1:02x}:{0:02x}.{n % 8}"
        folder = devices / bdf
        folder.mkdir()
        (folder / "vendor").write_text(f"0x{vendor}\n")
        (folder / "device").write_text(f"0x{device}\n")
        (folder / "class").write_text(f"0x{cls}\n")
        (folder / "driver").write_text(driver + "\n")
        lines = []
        lspci.append(f"{bdf} Device [{cls[:4]}]: Vendor Device [{vendor}:{device}]")
        for index in range(6):
            if index < len(bars):
                size, pref = bars[index]
                address = (address + size - 1) // size * size
                flags = 0x140200 | (0x2000 | 0xC if pref else 0x4)
                lines.append(f"0x{address:016x} 0x{address + size - 1:016x} 0x{flags:016x}")
                lspci.append(f"\tRegion {index}: Memory at {address:x} (64-bit, "
                             f"{'prefetchable' if pref else 'non-prefetchable'}) [size={size >> 10}K]")
                address += size
            else:
                lines.append("0x0000000000000000 0x0000000000000000 0x0000000000000000")
        (folder / "resource").write_text("\n".join(lines) + "\n")
        lspci.append("\tCapabilities: [b0] MSI-X: Enable+ Count=16 Masked-")
        lspci.append("\t\tVector table: BAR=0 offset=00002000")
        lspci.append("\t\tPBA: BAR=0 offset=00003000")
        lspci.append(f"\tKernel driver in use: {driver}")
    (host / "lspci.txt").write_text("\n".join(lspci) + "\n")
    return host


def make_fleet(root: Path, hosts: int, functions: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for n in range(hosts):
        make_host(root, f"host{n:04d}", functions, release=("6.6.0", "6.9.0", "6.17.0")[n % 3])
    return root
