"""Importers on real and synthetic inputs, including the format traps the issue lists."""

from __future__ import annotations

import os
from pathlib import Path

import fdt
import pytest

from memattr.errors import MemattrError
from memattr.platform.devicetree import parse_dtb
from memattr.platform.host import load_host
from memattr.platform.iomem import parse_iomem
from memattr.platform.ioresource import decode_flags
from memattr.platform.kernel_files import parse_config, parse_kallsyms, parse_modules
from memattr.platform.kmsg import parse_kmsg
from memattr.platform.lspci import parse_lspci
from memattr.platform.ptdump import parse_kernel_page_tables, parse_stage2_page_tables, parse_vmallocinfo
from memattr.platform.sysfs_pci import parse_resource

DATA = Path(__file__).resolve().parent.parent / "data" / "platform"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "arm64-server"


def read(name: str) -> str:
    return (DATA / name).read_text()


def test_real_raspberry_pi_lspci_pba_in_another_bar():
    (device,) = parse_lspci(read("lspci-rpi-nvme-sn700.txt"))
    assert device.bdf == "0000:01:00.0"
    assert [(b.index, b.start, b.size, b.prefetchable, b.is_64bit) for b in device.bars] == [
        (0, 0x600000000, 16384, False, True), (4, 0x600004000, 256, False, True)]
    blocks = {(r.what, r.bar, r.offset) for r in device.register_blocks}
    assert blocks == {("MSI-X table", 0, 0x2000), ("MSI-X PBA", 4, 0)}


def test_real_lspci_with_two_space_indent():
    (device,) = parse_lspci(read("lspci-rpi-nvme-kingston.txt"))
    assert device.bars[0].start == 0x600000000 and device.bars[0].size == 16 * 1024


def test_lspci_traps():
    devices = {d.bdf: d for d in parse_lspci(read("lspci-traps.txt"))}
    assert devices["0000:00:01.0"].bars == ()  # bridge windows (with their [32-bit] tag) are not BARs
    gpu = devices["0000:00:02.0"]
    assert [b.index for b in gpu.bars] == [2, 3]  # <ignored> and <unassigned> map nothing
    assert gpu.bars[0].decode_off and not gpu.bars[0].disabled and not gpu.bars[1].memory  # lspci [disabled]: decoding off
    vf = devices["0000:00:03.0"]
    assert all(b.virtual for b in vf.bars) and vf.driver == "ixgbevf"
    assert vf.class_code == 0x020000 and vf.vendor == 0x8086


def test_iomem_nesting_deeper_than_five_recovered_by_containment():
    entries = parse_iomem(read("iomem-deep.txt"))
    by_name = {e.name: e for e in entries}
    assert entries[by_name["level6 inside level5"].parent].name == "level5"
    assert entries[by_name["level6 second"].parent].name == "level5"
    assert entries[by_name["level5 sibling printed at the same indent"].parent].name == "level4"
    assert "PCI Bus 0000:01 with spaces in the name" in by_name


def test_iomem_without_root_is_an_error_saying_so():
    with pytest.raises(MemattrError, match="without root"):
        parse_iomem(read("iomem-nonroot.txt"), "iomem-nonroot.txt")


def test_sysfs_flags_bit_by_bit():
    names = decode_flags(0x14220C)
    assert {"IORESOURCE_MEM", "IORESOURCE_PREFETCH", "IORESOURCE_MEM_64", "IORESOURCE_SIZEALIGN"} <= set(names)
    assert "IORESOURCE_MEM_NONPOSTED" in decode_flags(0x200 | 0x80)
    (bar,) = parse_resource("0x0000000010000000 0x0000000010003fff 0x0000000000040280\n", "r")
    assert bar.nonposted and not bar.prefetchable


def test_sysfs_skips_rom_windows_and_empty_slots():
    text = "\n".join(["0x0000000000000000 0x0000000000000000 0x0000000000000000"] * 6
                     + ["0x00000000fff80000 0x00000000ffffffff 0x0000000000046200"]) + "\n"
    assert parse_resource(text, "r") == ()


def test_kmsg_old_and_new_formats():
    bars = parse_kmsg(read("kmsg-formats.txt")).bars
    assert sorted(bars["0000:01:00.0"]) == [0, 1]  # reg 0x30 is the ROM
    assert bars["0000:01:00.0"][1].prefetchable and bars["0000:01:00.0"][1].is_64bit
    assert sorted(bars["0000:02:00.0"]) == [0, 2]
    assert "0000:00:01.0" not in bars


def test_ptdump_host_and_vmallocinfo():
    vmalloc = parse_vmallocinfo((EXAMPLE / "proc/vmallocinfo").read_text())
    entries = parse_kernel_page_tables((EXAMPLE / "sys/kernel/debug/kernel_page_tables").read_text(), vmalloc)
    assert [(e.memory_type, e.phys_start) for e in entries][:2] == [("Device-nGnRE", 0x9000000),
                                                                   ("Device-nGnRE", 0x11000000)]
    assert not any(e.executable for e in entries)


def test_ptdump_old_kernel_types():
    text = "0xffff000010000000-0xffff000010001000 4K PTE RW NX SHD AF UXN DEVICE/GRE\n"
    (entry,) = parse_kernel_page_tables(text)
    assert entry.memory_type == "Device-GRE"


def test_stage2_dump_has_no_memory_type():
    text = ("---[ Guest IPA ]---\n"
            "0x0000000000000000-0x0000000040000000           1G 1                                 \n"
            "0x0000000040000000-0x0000000040200000           2M 2   R W X AF    BLK\n")
    entries = parse_stage2_page_tables(text)
    assert entries[1].level == 2 and "R W X" in entries[1].permissions
    assert not hasattr(entries[1], "memory_type")


def _dtb(body: str) -> bytes:
    dts = "/dts-v1/;\n/ {\n    #address-cells = <2>;\n    #size-cells = <2>;\n" + body + "};\n"
    return fdt.parse_dts(dts).to_dtb(version=17)


def test_dtb_ranges_translation_and_flags():
    blob = _dtb("""    soc {
        #address-cells = <1>;
        #size-cells = <1>;
        ranges = <0x0 0x0 0x40000000 0x10000000>;
        serial@1000 {
            compatible = "ns16550a";
            reg = <0x1000 0x100>;
            dma-coherent;
        };
        off@2000 {
            compatible = "vendor,thing";
            reg = <0x2000 0x100>;
            status = "disabled";
        };
    };
    i2c@5000 {
        compatible = "vendor,i2c";
        reg = <0x0 0x5000 0x0 0x100>;
    };
""")
    devices = {d.path: d for d in parse_dtb(blob)}
    assert devices["/soc/serial@1000"].regs == ((0x40001000, 0x100),)
    assert devices["/soc/serial@1000"].dma_coherent
    assert devices["/soc/off@2000"].status == "disabled"
    assert devices["/i2c@5000"].regs == ((0x5000, 0x100),)


def test_dtb_child_without_ranges_is_not_mmio():
    blob = _dtb("""    bus {
        #address-cells = <1>;
        #size-cells = <1>;
        dev@10 {
            reg = <0x10 0x4>;
        };
    };
""")
    assert parse_dtb(blob) == ()


def test_kernel_files():
    assert parse_config("CONFIG_A=y\n# CONFIG_B is not set\n# comment\nCONFIG_C=\"x\"\n") == {
        "CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_C": "x"}
    assert parse_modules("vfio_pci 16384 2 - Live 0x0\n") == frozenset({"vfio_pci"})
    assert parse_kallsyms("ffff800080010000 T kvm_arch_init\n0000000000000000 t vfio_pci_core_mmap [vfio_pci_core]\n") \
        == frozenset({"kvm_arch_init", "vfio_pci_core_mmap"})


@pytest.mark.parametrize("name,parser", [
    ("corrupt/iomem-garbage.txt", lambda t, s: parse_iomem(t, s)),
    ("corrupt/iomem-backwards.txt", lambda t, s: parse_iomem(t, s)),
    ("corrupt/resource-garbage.txt", lambda t, s: parse_resource(t, s)),
    ("corrupt/lspci-bad-bar.txt", lambda t, s: parse_lspci(t, s)),
])
def test_corrupt_fixtures_name_file_and_line(name, parser):
    with pytest.raises(MemattrError) as error:
        parser(read(name), name)
    assert f"{name}:" in str(error.value) and "\n" not in str(error.value)


def test_corrupt_dtb():
    with pytest.raises(MemattrError, match="not a flattened device tree"):
        parse_dtb((DATA / "corrupt/not-a.dtb").read_bytes(), "not-a.dtb")


def test_example_host_merges_sources():
    inventory = load_host(EXAMPLE)
    devices = {d.bdf: d for d in inventory.pci}
    assert devices["0000:02:00.0"].driver == "vfio-pci"
    assert {r.what for r in devices["0000:02:00.0"].register_blocks} == {"MSI-X table", "MSI-X PBA"}
    assert inventory.bar_disagreements == ()
    # Three device-tree nodes, and the flash that only /proc/iomem shows ("0.flash flash@0").
    assert len(inventory.platform) == 4 and inventory.release == "6.8.0-1013-nvidia-64k"
    assert [p.path for p in inventory.platform if p.source.startswith("proc/iomem")] == ["0.flash"]


def test_disagreeing_sources_are_reported(tmp_path):
    host = tmp_path / "h"
    (host / "sys/bus/pci/devices/0000:02:00.0").mkdir(parents=True)
    (host / "sys/bus/pci/devices/0000:02:00.0/resource").write_text(
        "0x0000009002000000 0x0000009003ffffff 0x0000000000140204\n")
    (host / "lspci.txt").write_text(
        "0000:02:00.0 Ethernet controller [0200]: NIC [15b3:101d]\n"
        "\tRegion 0: Memory at 9002000000 (64-bit, prefetchable) [size=32M]\n")
    inventory = load_host(host)
    assert inventory.bar_disagreements and "prefetchable" in inventory.bar_disagreements[0][2]


def test_load_host_collects_every_problem(tmp_path):
    host = tmp_path / "h"
    (host / "proc").mkdir(parents=True)
    (host / "proc/iomem").write_text("garbage\n")
    (host / "lspci.txt").write_text("also garbage\n")
    with pytest.raises(MemattrError) as error:
        load_host(host)
    text = str(error.value)
    assert text.startswith("2 problems") and "proc/iomem:1" in text and "lspci.txt:1" in text


@pytest.mark.skipif(not Path("/proc/iomem").exists(), reason="needs a Linux /proc")
def test_collect_from_this_machine_and_load(tmp_path):
    from memattr.platform.collect import collect

    manifest = collect(tmp_path / "live", run_lspci=False)
    assert (tmp_path / "live/manifest.json").exists() and manifest.collected
    if os.geteuid() == 0 and (tmp_path / "live/proc/iomem").exists():
        inventory = load_host(tmp_path / "live")
        assert inventory.iomem


def test_collect_from_a_fake_root(tmp_path):
    from memattr.platform.collect import collect

    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc/iomem").write_text("00000000-00000000 : System RAM\n")
    (root / "proc/modules").write_text("vfio_pci 16384 2 - Live 0x0\n")
    device = root / "sys/bus/pci/devices/0000:01:00.0"
    device.mkdir(parents=True)
    (device / "resource").write_text("0x0000000010000000 0x0000000010ffffff 0x0000000000040200\n")
    (root / "drivers/vfio-pci").mkdir(parents=True)
    (device / "driver").symlink_to(root / "drivers/vfio-pci")
    manifest = collect(tmp_path / "out", root=root, run_lspci=False, release="6.9.0")
    assert "proc/iomem" in manifest.unreadable  # zeros: read without root
    assert (tmp_path / "out/sys/bus/pci/devices/0000:01:00.0/driver").read_text().strip() == "vfio-pci"
    inventory = load_host(tmp_path / "out")
    assert inventory.pci[0].driver == "vfio-pci" and inventory.release == "6.9.0"
    with pytest.raises(MemattrError, match="already exists"):
        collect(tmp_path / "out", root=root, run_lspci=False)


def test_real_qemu_virt_boot_log_assignment_wins():
    bars = parse_kmsg(read("kmsg-qemu-virt-arm64.txt")).bars["0000:00:01.0"]
    assert (bars[4].start, bars[4].end, bars[4].prefetchable, bars[4].is_64bit) == (
        0x8000000000, 0x8000003FFF, True, True)
    assert bars[1].start == 0x10080000 and not bars[1].prefetchable
    assert not bars[0].memory  # I/O ports
    assert 6 not in bars  # the ROM


KMSG_SRIOV = """\
[    0.348845] pci 0000:08:00.0: [8086:1521] type 00 class 0x020000
[    0.348876] pci 0000:08:00.0: reg 0x30: [mem 0xfff80000-0xffffffff pref]
[    0.349016] pci 0000:08:00.0: reg 0x184: [mem 0x82000ce0000-0x82000ce3fff 64bit pref]
[    0.349020] pci 0000:08:00.0: VF(n) BAR0 space: [mem 0x82000ce0000-0x82000cfffff 64bit pref] (contains BAR0 for 8 VFs)
[    0.349021] pci 0000:08:00.0: reg 0x44: [mem 0x1000-0x1fff]
[    0.760000] pci 0000:08:00.0: BAR 7: assigned [mem 0x82000c00000-0x82000c1ffff 64bit pref]
[    0.697385] pci 0000:01:00.1: [14e4:5f69] type 00 class 0x028000 PCIe Endpoint
[    0.697403] pci 0000:01:00.1: VF BAR 0 [mem 0x00000000-0x00007fff 64bit pref]
[    0.697404] pci 0000:01:00.1: VF BAR 0 [mem 0x00000000-0x0007ffff 64bit pref]: contains BAR 0 for 16 VFs
[    0.700712] pci 0000:01:00.1: VF BAR 0 [mem 0x6c1000000-0x6c107ffff 64bit pref]: assigned
[    0.700713] pci 0000:00:01.0: BAR 13: assigned [io  0x1000-0x1fff]
[    0.700714] pci 0000:00:01.0:   bridge window [mem 0x6c0000000-0x6c0dfffff]
"""


def test_kmsg_sriov_roms_ids_and_unknown_offsets():
    """iov.c prints VF BAR spaces ("VF(n) BARi space", v6.8+ "VF BAR i ...: contains BAR i for N VFs"); the
    resources 7..12 (PCI_IOV_RESOURCES) are VF BARs the kernel may assign again later ("BAR 7: assigned")."""
    log = parse_kmsg(KMSG_SRIOV, "k.txt")
    assert log.ids["0000:08:00.0"] == (0x8086, 0x1521, 0x020000)
    assert log.bars.get("0000:08:00.0", {}) == {}  # the ROM is not a BAR; VF registers are not the PF's
    vf = log.vf_bars["0000:08:00.0"][0]
    assert (vf.start, vf.end, vf.vf_count, vf.per_vf_size) == (0x82000C00000, 0x82000C1FFFF, 8, 0x4000)
    assert vf.slice(3) == (0x82000C0C000, 0x82000C0FFFF) and vf.sources[0] == "k.txt:6"
    new = log.vf_bars["0000:01:00.1"][0]
    assert (new.start, new.vf_count, new.per_vf_size) == (0x6C1000000, 16, 0x8000)
    assert any("k.txt:5: config offset 0x44" in w for w in log.warnings)
    assert "0000:00:01.0" not in log.bars


def test_lspci_v_form_without_region_numbers():
    text = ("0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102 [GeForce RTX 3090] [10de:2204]\n"
            "\tFlags: bus master, fast devsel, latency 0, IRQ 38\n"
            "\tMemory at 60000000 (32-bit, non-prefetchable) [size=16M]\n"
            "\tMemory at 6000000000 (64-bit, prefetchable) [size=32G]\n"
            "\tMemory at 6800000000 (64-bit, prefetchable) [size=32M]\n"
            "\tI/O ports at 1000 [size=128]\n"
            "\tExpansion ROM at 61000000 [disabled] [size=512K]\n"
            "\tCapabilities: [bb0] Single Root I/O Virtualization (SR-IOV)\n"
            "\t\tRegion 0: Memory at 0000007000000000 (64-bit, prefetchable)\n"
            "\tKernel driver in use: vfio-pci\n")
    device = parse_lspci("pi@host:~ $ lspci -v\n" + text, "l.txt")[0]
    assert [(b.index, b.start, b.size, b.prefetchable) for b in device.bars if b.memory] == [
        (0, 0x60000000, 16 << 20, False), (1, 0x6000000000, 32 << 30, True), (3, 0x6800000000, 32 << 20, True)]
    assert [b.index for b in device.bars if not b.memory] == [5]
    assert device.driver == "vfio-pci"
    assert "GeForce RTX 3090" in device.description  # names are never cut


def test_qemu_mtree_pieces_and_the_vmm_layout_rule():
    """hw/vfio/region.c: "BDF BAR n" is trapped (i/o), its "mmaps[k]" sub-regions are the VMM's mmap (ram)."""
    from memattr.audit.run import AuditRequest, audit_host
    from memattr.platform.mtree import parse_mtree

    text = read("qemu-mtree-vfio.txt")
    pieces = parse_mtree(text, "m.txt")
    assert [(p.bdf, p.bar, p.mapped) for p in pieces] == [
        ("0000:01:00.0", 0, True), ("0000:01:00.0", 0, False), ("0000:01:00.0", 0, True),
        ("0000:03:00.0", 0, False), ("0000:01:00.0", 1, True)]  # the I/O flat view is not read
    assert pieces[1].bar_offset == 0xB90000 and pieces[1].source == "m.txt:8"
    result = audit_host(EXAMPLE, AuditRequest(), overrides={"mtree": DATA / "qemu-mtree-vfio.txt"})
    notes = {f.region: f.message for f in result.findings if f.rule == "MA012"}
    assert "traps every access" in notes["0000:03:00.0 BAR0"]
    assert "traps the rest: BAR+0xb90000 (0x11000 bytes)" in notes["0000:01:00.0 BAR0"]
    assert "0000:01:00.0 BAR1" not in notes


def test_collect_records_cpu_features_and_kvm_caps_or_why_not(tmp_path):
    from memattr.platform.collect import collect

    manifest = collect(tmp_path / "live", run_lspci=False)
    assert "kvm-caps" in manifest.collected or manifest.unreadable["kvm-caps"].startswith("/dev/kvm")
    root = tmp_path / "root"
    root.mkdir()
    (root / "dmesg.txt").write_text("[    0.5] CPU features: detected: Stage-2 Force Write-Back\n[    0.6] other\n")
    collect(tmp_path / "out", root=root, run_lspci=False)
    assert (tmp_path / "out/cpu-features.txt").read_text() == "[    0.5] CPU features: detected: Stage-2 Force Write-Back\n"


def test_kvm_cacheable_pfnmap_capability_proves_the_v6_17_policy(tmp_path):
    """KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED (243) answers 1 only with f55ce5a6cd33 (v6.17) on FWB+DIC."""
    from memattr.audit.from_inventory import evidence_of
    from memattr.linux.evidence import detect_policy

    host = tmp_path / "host"
    (host / "proc").mkdir(parents=True)
    (host / "proc/iomem").write_text((EXAMPLE / "proc/iomem").read_text())
    (host / "uname-r").write_text("6.12.0-55.el10.aarch64\n")
    (host / "kvm-caps").write_text("KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED=1\nKVM_CAP_ARM_EL2=error 22\n")
    detection = detect_policy(evidence_of(load_host(host)))
    assert detection.policy.name == "cacheable-pfnmap"
    assert any("KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED=1" in reason for reason in detection.reasons)
    (host / "kvm-caps").write_text("KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED=0\n")
    assert detect_policy(evidence_of(load_host(host))).policy.name == "allow-any-uncached"
    (host / "kvm-caps").write_text("not a capability\n")
    with pytest.raises(MemattrError, match="kvm-caps:1"):
        load_host(host)


def test_kernel_log_names_the_driver_each_device_was_last_bound_to():
    text = "\n".join([
        "[    1.000000] pci 0000:01:00.0: [144d:a808] type 00 class 0x010802",
        "[    1.000001] pci 0000:01:00.0: reg 0x10: [mem 0x80000000-0x80003fff 64bit]",
        "[    2.000000] nvme 0000:01:00.0: platform quirk: setting simple suspend",
        "[    2.000001] nvme nvme0: pci function 0000:01:00.0",  # "function" is no driver
        "[    2.000002] AER: Corrected error received: 0000:02:00.0",  # no driver either
        "Nov 26 10:00:00 host kernel: mlx5_core 0000:02:00.0 enp2s0f0np0: renamed from eth0",  # journal, netdev form
        "[   30.000000] vfio-pci 0000:01:00.0: enabling device (0000 -> 0002)",  # rebound later: the last one wins
        "[   30.000001] pci 0000:03:00.0: [10de:2204] type 00 class 0x030000",  # the bus name is not a driver
        "[   30.000002] pcieport 0000:00:01.0: PME: Signaling with IRQ 51",
    ])
    log = parse_kmsg(text, "dmesg.txt")
    assert log.drivers == {"0000:01:00.0": "vfio-pci", "0000:02:00.0": "mlx5_core", "0000:00:01.0": "pcieport"}


def test_kernel_log_driver_fills_in_only_what_sysfs_and_lspci_leave_unknown():
    from memattr.platform.host import _merge_pci
    from memattr.platform.inventory import PciDevice

    log = parse_kmsg("[ 1.0] pci 0000:01:00.0: [144d:a808] type 00 class 0x010802\n"
                     "[ 2.0] nvme 0000:01:00.0: enabling device\n"
                     "[ 2.0] pci 0000:02:00.0: [15b3:1017] type 00 class 0x020000\n"
                     "[ 2.0] mlx5_core 0000:02:00.0: firmware version: 16.35.2000\n")
    now = (PciDevice(bdf="0000:01:00.0", driver="vfio-pci"),)
    devices, _, _ = _merge_pci(now, (), log)
    assert {d.bdf: d.driver for d in devices} == {"0000:01:00.0": "vfio-pci", "0000:02:00.0": "mlx5_core"}


def test_kernel_log_banner_gives_the_release_when_there_is_no_uname(tmp_path):
    log = parse_kmsg("[    0.000000] Linux version 5.15.61-v8+ (XXX@XXX) (aarch64-linux-gnu-gcc-8) #1579 SMP\n")
    assert log.release == "5.15.61-v8+"
    (tmp_path / "dmesg.txt").write_text("[    0.000000] Linux version 6.12.34+rpt-rpi-v8 (gcc) #1\n"
                                        "[    1.0] pci 0000:01:00.0: [1106:3483] type 00 class 0x0c0330\n"
                                        "[    1.1] pci 0000:01:00.0: BAR 0: assigned [mem 0x600000000-0x600000fff 64bit]\n")
    assert load_host(tmp_path).release == "6.12.34+rpt-rpi-v8"
    (tmp_path / "uname-r").write_text("6.12.35\n")
    assert load_host(tmp_path).release == "6.12.35"  # uname -r, when collected, wins


def test_iomem_platform_ranges_by_device_and_by_requester(tmp_path):
    """Shapes of real phone and Jetson /proc/iomem files (tests/data/hosts/*-iomem)."""
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "iomem").write_text(
        "01700000-0170ffff : 2c00000.memory-controller\n"
        "01710000-0171ffff : 2c00000.memory-controller\n"
        "0242c000-0242cffe : nvidia\n"
        "06844000-06844fff : tpdm-base\n"
        "  06844000-06844fff : 6844000.tpdm tpdm-base\n"
        "80000000-bfffffff : System RAM\n"
        "dc000000-ddffffff : pcie@ce400000\n"
        "  dc000000-dc2fffff : PCI Bus 0001:01\n"
        "    dc000000-dc1fffff : 0001:01:00.0\n"
        "      dc000000-dc1fffff : 0001:01:00.0\n"
        "    dc200000-dc207fff : 0001:01:00.0\n")
    from memattr.audit.from_inventory import regions_of

    regions = {r.name: (r.start, r.sources) for r in regions_of(load_host(tmp_path))}
    assert regions == {
        "0001:01:00.0 range 0": (0xdc000000, ("proc/iomem:9",)),
        "0001:01:00.0 range 1": (0xdc200000, ("proc/iomem:11",)),
        "2c00000.memory-controller range 0": (0x1700000, ("proc/iomem:1",)),
        "2c00000.memory-controller range 1": (0x1710000, ("proc/iomem:2",)),
        "nvidia range 0": (0x242c000, ("proc/iomem:3",)),
        "6844000.tpdm range 0": (0x6844000, ("proc/iomem:5",)),
    }


def test_a_bar_the_kernel_log_agrees_on_lists_it_as_a_source(tmp_path):
    host = Path(__file__).resolve().parents[1] / "data" / "hosts" / "raspberrypi-4b-bcm2711"
    (device,) = [d for d in load_host(host).pci if d.bdf == "0000:01:00.0"]
    assert device.bars[0].sources == ("lspci.txt:23", "dmesg.txt:169")
