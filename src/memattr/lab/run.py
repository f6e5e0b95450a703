"""Boot a real arm64 kernel under QEMU, pass BARs through to a KVM guest, and read the page tables.

One run: build the initramfs, boot the kernel (``-M virt,virtualization=on,iommu=smmuv3`` so KVM
runs at EL2 and vfio-pci sits behind an SMMUv3), wait for the init to report that the VMM's guest
has touched every BAR, take the host's files (the ones ``memattr collect`` takes) from the console,
then stop the machine through QEMU's gdbstub and read what the kernels wrote: MAIR and the host's
stage-1 entries for the kernel's ioremap of each BAR and for the VMM's user mapping, HCR_EL2 and the
stage-2 entry of each BAR page, and the guest's own stage-1 entry.  :mod:`memattr.lab.compare` puts
those beside memattr's predictions.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from memattr.arch.walk import Walk, stage1_regime, stage2_regime, walk
from memattr.errors import MemattrError
from memattr.lab import initramfs
from memattr.lab.debian import Kernel, modules_in_load_order
from memattr.lab.gdb import GdbRemote
from memattr.lab.initramfs import MARK, Passthrough

# QEMU's virt machine: ivshmem-plain (BAR0 256 bytes of registers, BAR2 2 MiB shared memory, 64-bit
# prefetchable) and an NVMe controller (BAR0 16 KiB of registers, 64-bit non-prefetchable).
DEVICES = {
    "ivshmem": (["-object", "memory-backend-ram,id=labmem,size=2M",
                 "-device", "ivshmem-plain,memdev=labmem,addr=02.0"], Passthrough("0000:00:02.0", 2, 0x10000000, True)),
    "nvme": (["-device", "nvme,serial=memattr-lab,drive=labdisk,addr=03.0",
              "-drive", "if=none,id=labdisk,file={disk},format=raw"], Passthrough("0000:00:03.0", 0, 0x20000000, False)),
}
CPUS = {"max": "max,pauth-impdef=on", "cortex-a57": "cortex-a57"}  # FEAT_S2FWB with max, not with the A57
MODULES = ["vfio_pci", "vfio_iommu_type1"]
HCR_VM, HCR_TGE, HCR_E2H, HCR_FWB = 1 << 0, 1 << 27, 1 << 34, 1 << 46


@dataclass
class BarSeen:
    bdf: str
    bar: int
    ipa: int
    size: int
    vmm_va: int


@dataclass
class Observed:
    """What the machine's registers and page tables hold for one BAR."""

    bar: BarSeen
    physical: int
    host_mair: int
    host_ioremap: Walk | None
    host_ioremap_va: int | None
    vmm: Walk
    stage2: Walk
    guest_mair: int
    guest: Walk | None  # None when the guest's MMU is off
    hcr: int
    guest_tables: tuple[Walk, ...] = ()  # the stage-2 walks that found the guest's own tables


@dataclass
class Boot:
    console: str
    bars: list[BarSeen]
    host_root: Path
    command: list[str]
    observed: list[Observed] = field(default_factory=list)
    registers: dict[str, int] = field(default_factory=dict)

    def record(self) -> dict[str, object]:
        """The registers and every descriptor each walk read: enough to replay the walks offline."""
        def walk_json(found: Walk | None) -> object:
            if found is None:
                return None
            return {"address": f"{found.address:#x}", "output_address": f"{found.output_address:#x}",
                    "level": found.level, "descriptor": f"{found.descriptor:#018x}",
                    "path": [[level, f"{where:#x}", f"{value:#018x}"] for level, where, value in found.path]}

        return {
            "qemu": self.command,
            "registers": {name: f"{value:#x}" for name, value in self.registers.items()},
            "bars": [{"bdf": o.bar.bdf, "bar": o.bar.bar, "ipa": f"{o.bar.ipa:#x}", "size": f"{o.bar.size:#x}",
                      "vmm_va": f"{o.bar.vmm_va:#x}", "physical": f"{o.physical:#x}",
                      "host_ioremap": walk_json(o.host_ioremap), "vmm": walk_json(o.vmm),
                      "stage2": walk_json(o.stage2), "guest": walk_json(o.guest),
                      "guest_stage2": [walk_json(w) for w in o.guest_tables]} for o in self.observed],
        }


def build_vmm(cache: Path) -> bytes:
    source = resources.files("memattr.lab").joinpath("vmm.c").read_bytes()
    target = cache / f"vmm-{hashlib.sha256(source).hexdigest()[:16]}"
    if not target.is_file():
        compiler = shutil.which("aarch64-linux-gnu-gcc")
        if not compiler:
            raise MemattrError("aarch64-linux-gnu-gcc is not installed",
                               expected="Debian's gcc-aarch64-linux-gnu (make lab-deps)")
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as work:
            c_file = Path(work) / "vmm.c"
            c_file.write_bytes(source)
            result = subprocess.run([compiler, "-static", "-O2", "-Wall", "-o", str(Path(work) / "vmm"), str(c_file),
                                     "-lpthread"], capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise MemattrError(f"building the lab VMM failed: {result.stderr.strip()[-400:]}")
            os.replace(Path(work) / "vmm", target)
    return target.read_bytes()


def _console_tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.splitlines()[-lines:])


def boot_and_read(kernel: Kernel, busybox: Path, vmm: bytes, *, cpu: str, devices: list[str], mair: int,
                  bar_index: int, ram_index: int, work: Path, timeout: float = 240.0,
                  qemu: str = "qemu-system-aarch64") -> Boot:
    if not shutil.which(qemu):
        raise MemattrError(f"{qemu} is not installed", expected="Debian's qemu-system-arm (make lab-deps)")
    passthrough = [DEVICES[name][1] for name in devices]
    modules = modules_in_load_order(kernel.modules, MODULES)
    script = initramfs.init_script([name for name, _ in modules], passthrough, mair, bar_index, ram_index)
    (work / "initrd.gz").write_bytes(initramfs.build(busybox.read_bytes(), vmm, modules, script))
    disk = work / "disk.img"
    with open(disk, "wb") as handle:
        handle.truncate(1 << 20)
    console = work / "console.log"
    console.write_text("")
    gdb_socket = work / "gdb.sock"
    args = [qemu, "-M", "virt,gic-version=3,virtualization=on,iommu=smmuv3", "-cpu", CPUS[cpu], "-smp", "2",
            "-m", "1024", "-display", "none", "-monitor", "none", "-serial", f"file:{console}", "-nic", "none",
            "-kernel", str(kernel.image), "-initrd", str(work / "initrd.gz"), "-no-reboot",
            # kpti=0: the kernel's tables are read from CPU 1 while it runs the VMM at EL0, where KPTI
            # (arch/arm64/kernel/entry.S, tramp_map_kernel) leaves only a trampoline in TTBR1; it changes
            # no memory attribute.
            "-append", "console=ttyAMA0 panic=-1 quiet loglevel=4 kpti=0",
            "-chardev", f"socket,id=labgdb,path={gdb_socket},server=on,wait=off", "-gdb", "chardev:labgdb"]
    for name in devices:
        args += [part.format(disk=disk) for part in DEVICES[name][0]]
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        text = _wait_ready(process, console, timeout)
        bars = [BarSeen(m["bdf"], int(m["bar"]), int(m["ipa"], 16), int(m["size"], 16), int(m["va"], 16))
                for m in re.finditer(rf"{MARK} VMM {MARK} BAR (?P<bdf>\S+) (?P<bar>\d+) ipa=0x(?P<ipa>[0-9a-f]+) "
                                     r"size=0x(?P<size>[0-9a-f]+) vmm_va=0x(?P<va>[0-9a-f]+)", text)]
        if not bars:
            raise MemattrError("the VMM mapped no BAR", source=str(console), expected=_console_tail(text))
        root = work / "root"
        _unpack_files(text, root, kernel)
        command = [Path(args[0]).name, *(arg.replace(str(work), "<work>").replace(str(kernel.image), kernel.image.name)
                                         for arg in args[1:])]
        result = Boot(text, bars, root, command)
        gdb = GdbRemote(str(gdb_socket))
        try:
            _read_machine(gdb, result, root)
        finally:
            gdb.close()
        return result
    finally:
        process.kill()
        process.wait()


def _wait_ready(process: subprocess.Popen[bytes], console: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = console.read_text(errors="replace")
        if f"{MARK} READY" in text:
            return text
        if f"{MARK} VMM {MARK} ERROR" in text:
            raise MemattrError("the lab VMM failed: " + re.findall(rf"{MARK} ERROR (.*)", text)[0].strip(),
                               source=str(console))
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise MemattrError(f"QEMU exited ({process.returncode}) before the lab was ready: "
                               f"{output.strip()[-300:] or _console_tail(text)}", source=str(console))
        if time.monotonic() > deadline:
            raise MemattrError(f"the lab was not ready after {timeout:.0f} s", source=str(console),
                               expected=_console_tail(text))
        time.sleep(0.5)


def _unpack_files(text: str, root: Path, kernel: Kernel) -> None:
    match = re.search(rf"{MARK} FILES-BEGIN\s*\n(.*?)\n{MARK} FILES-END", text, re.S)
    if not match:
        raise MemattrError("the lab's init sent no files", expected=f"{MARK} FILES-BEGIN ... FILES-END")
    data = base64.b64decode("".join(line.strip() for line in match.group(1).splitlines()))
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        archive.extractall(root, filter="data")
    # sysfs's driver link, as a link memattr collect reads the name of.
    for name_file in root.glob("sys/bus/pci/devices/*/driver.name"):
        link = name_file.with_name("driver")
        if not link.exists():
            link.symlink_to(f"../../../bus/pci/drivers/{name_file.read_text().strip()}")
        name_file.unlink()
    if kernel.config is not None:
        (root / "boot").mkdir(exist_ok=True)
        shutil.copyfile(kernel.config, root / "boot" / f"config-{kernel.release}")


def _current_el(gdb: GdbRemote) -> int:
    return (gdb.register("cpsr") >> 2) & 3


def _read_machine(gdb: GdbRemote, boot: Boot, root: Path) -> None:
    from memattr.platform.ptdump import parse_vmallocinfo

    gdb.command("?")
    threads = gdb.threads()
    if len(threads) < 2:
        raise MemattrError(f"expected two vCPUs, the gdbstub lists {threads}")
    # CPU 0 runs the guest, CPU 1 the VMM's spinning main thread; a stop may land while CPU 0 is in the
    # host (a timer interrupt): let it run a little and stop again.
    for _attempt in range(40):
        gdb.select(threads[0])
        hcr = gdb.register("HCR_EL2")
        in_guest = _current_el(gdb) <= 1 and hcr & HCR_VM and not (hcr & HCR_TGE)
        gdb.select(threads[1])
        vmm_el = _current_el(gdb)
        if in_guest and vmm_el == 0:
            break
        gdb.resume()
        time.sleep(0.3)
        gdb.stop()
    else:
        raise MemattrError("could not stop the machine with CPU 0 in the guest and CPU 1 in the VMM")
    gdb.physical_mode()
    read = gdb.read_u64
    gdb.select(threads[0])
    regs = {name: gdb.register(name) for name in ("HCR_EL2", "VTCR_EL2", "VTTBR_EL2", "MAIR_EL1", "TCR_EL1",
                                                   "TTBR0_EL1", "SCTLR_EL1")}
    gdb.select(threads[1])
    vhe = bool(regs["HCR_EL2"] & HCR_E2H)
    suffix = "EL2" if vhe else "EL1"
    for name in ("MAIR", "TCR", "TTBR0", "TTBR1"):
        regs[f"host {name}_{suffix}"] = gdb.register(f"{name}_{suffix}")
    boot.registers = regs
    host_mair, host_tcr = regs[f"host MAIR_{suffix}"], regs[f"host TCR_{suffix}"]
    ttbr0, ttbr1 = regs[f"host TTBR0_{suffix}"], regs[f"host TTBR1_{suffix}"]
    s2 = stage2_regime(regs["VTCR_EL2"], regs["VTTBR_EL2"])
    vmalloc = parse_vmallocinfo((root / "proc/vmallocinfo").read_text())

    guest_mmu = bool(regs["SCTLR_EL1"] & 1)
    for bar in boot.bars:
        table_walks: list[Walk] = []

        def ipa_to_pa(ipa: int) -> int:
            found = walk(s2, ipa, read)
            table_walks.append(found)
            return found.output_address

        stage2 = walk(s2, bar.ipa, read)
        physical = stage2.output_address
        vmm = walk(stage1_regime(host_tcr, ttbr0, ttbr1, bar.vmm_va), bar.vmm_va, read)
        ioremap_va = next((va for va, pa in vmalloc.items() if pa == physical), None)
        host = (walk(stage1_regime(host_tcr, ttbr0, ttbr1, ioremap_va), ioremap_va, read)
                if ioremap_va is not None else None)
        guest = (walk(stage1_regime(regs["TCR_EL1"], regs["TTBR0_EL1"], 0, bar.ipa), bar.ipa, read, ipa_to_pa)
                 if guest_mmu else None)
        boot.observed.append(Observed(bar, physical, host_mair, host, ioremap_va, vmm, stage2, regs["MAIR_EL1"],
                                      guest, regs["HCR_EL2"], tuple(table_walks)))
