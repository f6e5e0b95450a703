"""The lab's parts that need no QEMU: the initramfs format, module dependencies, the init script and the
gdbstub client's framing (against a scripted stub on a socket)."""

from __future__ import annotations

import json
import lzma
import socket
import threading

import pytest

from memattr.errors import MemattrError
from memattr.lab.debian import _depends, modules_in_load_order
from memattr.lab.gdb import GdbRemote, _checksum, _unescape
from memattr.lab.initramfs import Passthrough, cpio_newc, init_script


def _read_newc(data: bytes) -> list[tuple[str, int, bytes]]:
    """An independent reader of the kernel's newc format (buffer-format.rst)."""
    entries, at = [], 0
    while True:
        assert data[at:at + 6] == b"070701"
        fields = [int(data[at + 6 + 8 * i: at + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name_at = at + 110
        name = data[name_at:name_at + namesize - 1].decode()
        body_at = name_at + namesize + (-(110 + namesize) % 4)
        body = data[body_at:body_at + size]
        at = body_at + size + (-size % 4)
        if name == "TRAILER!!!":
            return entries
        entries.append((name, mode, body))


def test_newc_archive_round_trips():
    entries = [("bin", 0o40755, b""), ("bin/busybox", 0o100755, b"\x7fELF" + b"x" * 13),
               ("bin/sh", 0o120777, b"busybox"), ("init", 0o100755, b"#!/bin/sh\n")]
    assert _read_newc(cpio_newc(entries)) == entries


def test_init_script_binds_each_device_once_and_passes_each_bar():
    devices = [Passthrough("0000:00:02.0", 2, 0x10000000, True), Passthrough("0000:00:02.0", 0, 0x20000000, False)]
    script = init_script(["vfio.ko", "vfio-pci.ko"], devices, 0x40044FFFF, 4, 0)
    assert script.count("drivers_probe") == 1
    assert "insmod /lib/modules/vfio.ko" in script.split("insmod /lib/modules/vfio-pci.ko")[0]
    assert ':0000:00:02.0:2:10000000:1"' in script and ':0000:00:02.0:0:20000000:0"' in script
    assert "/vmm 0x40044ffff 4 0 $ARGS" in script
    assert "kptr_restrict" in script.split("vmallocinfo")[0]


def _module(depends: str) -> bytes:
    return b"\x7fELF....\x00license=GPL\x00depends=" + depends.encode() + b"\x00name=x\x00"


def test_modules_load_dependencies_first(tmp_path):
    kernel = tmp_path / "kernel/drivers/vfio"
    (kernel / "pci").mkdir(parents=True)
    (kernel / "vfio.ko.xz").write_bytes(lzma.compress(_module("")))
    (kernel / "pci/vfio-pci-core.ko.xz").write_bytes(lzma.compress(_module("vfio,irqbypass")))
    (kernel / "pci/vfio-pci.ko").write_bytes(_module("vfio-pci-core,vfio"))
    (tmp_path / "kernel/virt").mkdir()
    (tmp_path / "kernel/virt/irqbypass.ko").write_bytes(_module(""))
    order = [name for name, _ in modules_in_load_order(tmp_path, ["vfio-pci"])]
    assert order.index("vfio.ko") < order.index("vfio-pci-core.ko") < order.index("vfio-pci.ko")
    assert order.index("irqbypass.ko") < order.index("vfio-pci-core.ko")
    assert dict(modules_in_load_order(tmp_path, ["vfio"]))["vfio.ko"] == _module("")  # decompressed


def test_a_missing_module_is_a_clear_error(tmp_path):
    (tmp_path / "kernel").mkdir()
    with pytest.raises(MemattrError, match="vfio_pci is not in the kernel package"):
        modules_in_load_order(tmp_path, ["vfio-pci"])


def test_modinfo_depends_parsing():
    assert _depends(_module("a-b,c")) == ["a_b", "c"]
    assert _depends(_module("")) == []
    assert _depends(b"no modinfo") == []


def test_rsp_unescape_and_run_length():
    assert _unescape(b"a}\x03b") == b"a#b"  # '}' escapes '#' (0x23 ^ 0x20 = 0x03)
    assert _unescape(b"0* ") == b"0" * 4  # ' ' is 32: three more repeats
    assert _checksum(b"OK") == b"9a"


def _stub(server: socket.socket, replies: dict[str, str]) -> None:
    connection, _ = server.accept()
    connection.sendall(b"$T05thread:01;#07")  # QEMU's unsolicited stop reply on connect
    buffer = b""
    while True:
        data = connection.recv(4096)
        if not data:
            return
        buffer += data
        while b"#" in buffer and b"$" in buffer:
            start = buffer.index(b"$")
            end = buffer.index(b"#", start)
            if len(buffer) < end + 3:
                break
            packet = buffer[start + 1:end].decode()
            buffer = buffer[end + 3:]
            reply = next((value for key, value in replies.items() if packet.startswith(key)), "")
            body = reply.encode()
            connection.sendall(b"+$" + body + b"#" + _checksum(body))


def test_gdb_client_reads_threads_registers_and_memory(tmp_path):
    path = str(tmp_path / "gdb.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    xml = ('<?xml version="1.0"?><target><xi:include href="core.xml"/>'
           '<xi:include href="system-registers.xml"/></target>')
    replies = {
        "qfThreadInfo": "m01", "qsThreadInfo": "l", "Hg": "OK",
        "qXfer:features:read:target.xml": "l" + xml,
        "qXfer:features:read:core.xml": 'l<feature><reg name="x0" bitsize="64"/><reg name="cpsr" bitsize="32" regnum="33"/></feature>',
        "qXfer:features:read:system-registers.xml": 'l<feature><reg name="SCTLR" bitsize="64" regnum="120"/></feature>',
        "p21": "c5030000", "p78": "0518d030" + "00000000",
        "Qqemu.PhyMemMode:1": "OK", "m40001000,8": "1107000000000000",
    }
    thread = threading.Thread(target=_stub, args=(server, replies), daemon=True)
    thread.start()
    gdb = GdbRemote(path, timeout=5)
    try:
        assert gdb.threads() == ["01"]
        gdb.select("01")
        assert gdb.register("cpsr") == 0x3C5
        assert gdb.register("SCTLR_EL1") == 0x30D01805  # QEMU names it SCTLR
        gdb.physical_mode()
        assert gdb.read_u64(0x40001000) == 0x711
        with pytest.raises(MemattrError, match="no register"):
            gdb.register("NOPE_EL3")
    finally:
        gdb.close()
        server.close()


def test_a_kernel_given_as_image_and_modules(tmp_path):
    from memattr.lab.debian import kernel_from_image

    modules = tmp_path / "lib/modules/6.18.0-rc1+"
    (modules / "kernel").mkdir(parents=True)
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot/config-6.18.0-rc1+").write_text("CONFIG_ARM64=y\n")
    image = tmp_path / "Image"
    image.write_bytes(b"MZ")
    kernel = kernel_from_image(image, modules)
    assert kernel.release == "6.18.0-rc1+" and kernel.config == tmp_path / "boot/config-6.18.0-rc1+"
    with pytest.raises(MemattrError, match="no kernel/ directory"):
        kernel_from_image(image, tmp_path)
    with pytest.raises(MemattrError, match="not a file"):
        kernel_from_image(tmp_path / "nope", modules)


def test_lab_command_exits_1_on_a_mismatch_and_prints_the_table(run, monkeypatch, tmp_path):
    """The command's contract without QEMU: fetching and booting are replaced, the table and exit code stay."""
    import memattr.lab.cases as cases
    import memattr.lab.debian as debian
    import memattr.lab.run as lab_run
    from memattr.lab.cases import CaseResult
    from memattr.lab.compare import Row

    kernel = debian.Kernel("6.12.95+deb12-arm64", tmp_path / "vmlinuz", None, tmp_path, "test")
    monkeypatch.setattr(debian, "fetch_kernel", lambda cache, name: kernel)
    monkeypatch.setattr(debian, "fetch_busybox", lambda cache: tmp_path / "busybox")
    monkeypatch.setattr(lab_run, "build_vmm", lambda cache: b"")

    def fake_case(kernel, busybox, vmm, *, cpu, guest_call, devices, keep, timeout):  # type: ignore[no-untyped-def]
        wrote = "0b0001 Device-nGnRE" if cpu == "cortex-a57" else "0b0101 Normal-iNC-oNC"
        return CaseResult(kernel.release, cpu, guest_call, [
            Row("0000:00:02.0 BAR 2", "stage 2 MemAttr", "0b0101 Normal-iNC-oNC", wrote, "IPA 0x10000000")],
            fwb=cpu == "max", vhe=cpu == "max")

    monkeypatch.setattr(cases, "run_case", fake_case)
    result = run("lab", "--kernel", "6.12", "--guest-map", "ioremap_wc", "--cache", str(tmp_path / "c"))
    assert result.code == 1
    assert "2 cases, 2 aliases compared, 1 mismatches" in result.out and "NO" in result.out
    result = run("lab", "--kernel", "6.12", "--cpu", "max", "--cache", str(tmp_path / "c"), "--json")
    assert result.code == 0 and json.loads(result.out)["mismatches"] == 0
    assert run("lab", "--devices", "gpu", "--cache", str(tmp_path / "c")).code == 2
