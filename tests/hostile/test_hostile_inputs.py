"""One test per defect of issue 9: special files, huge numbers, bad encodings, hostile outputs.

The promise under test (README, "Errors and output"): bad input is one line on standard error with
file:line and what was expected, exit status 2, never a traceback or a hang; outputs are written
whole or not at all and respect what is already at the target.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memattr.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/arm64-server"
MP = ROOT / "litmus/classic/MP.litmus"


def cli(*args: str, timeout: float = 20, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line in a subprocess, so a hang is a test failure, not a stuck suite."""
    return subprocess.run([sys.executable, "-m", "memattr", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env=env)


def one_clear_error(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("memattr: error: ")
    assert len(lines[0]) < 400, lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


# -- special files as input --------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["audit", "--lspci", "{}"],
    ["audit", "--iomem", "{}"],
    ["audit", "--iomem", str(EXAMPLE / "proc/iomem"), "--rules", "{}"],
    ["litmus", "{}"],
    ["litmus", str(MP), "--kinds", "{}"],
])
def test_fifo_as_input_is_refused_at_once(fifo, args):
    started = time.monotonic()
    done = cli(*[a.replace("{}", str(fifo)) for a in args])
    assert time.monotonic() - started < 10
    one_clear_error(done, str(fifo), "FIFO")


def test_fifo_inside_a_host_directory(tmp_path):
    host = tmp_path / "host"
    (host / "proc").mkdir(parents=True)
    (host / "proc/iomem").write_text((EXAMPLE / "proc/iomem").read_text())
    os.mkfifo(host / "lspci.txt")
    one_clear_error(cli("audit", str(host)), "lspci.txt", "FIFO")


@pytest.mark.parametrize("special,what", [("/dev/zero", "character device"), ("/dev/null", "character device")])
def test_devices_as_input_are_refused(special, what):
    one_clear_error(cli("audit", "--iomem", special), special, what)


def test_directory_and_socket_as_input(tmp_path):
    one_clear_error(cli("audit", "--lspci", str(tmp_path)), "directory")
    sock_path = tmp_path / "s"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        one_clear_error(cli("audit", "--lspci", str(sock_path)), str(sock_path))
    finally:
        sock.close()


def test_input_over_its_size_cap(tmp_path):
    big = tmp_path / "rules.toml"
    with open(big, "wb") as handle:
        handle.truncate(2 << 20)  # sparse 2 MiB: over the 1 MiB rules cap
    one_clear_error(cli("audit", "--iomem", str(EXAMPLE / "proc/iomem"), "--rules", str(big)), "limit")


# -- numbers of absurd length, bad encodings, long lines ---------------------------------------------

HUGE = "1" * 5000


@pytest.mark.parametrize("flag,text", [
    ("--lspci", f"0000:01:00.0 Ethernet controller: X\n\tRegion 0: Memory at {HUGE} (64-bit) [size=16K]\n"),
    ("--lspci", f"0000:01:00.0 Ethernet controller: X\n\tRegion {HUGE}: Memory at 1000 (64-bit) [size=16K]\n"),
    ("--lspci", f"0000:01:00.0 Ethernet controller: X\n\tRegion 0: Memory at 1000 (64-bit) [size={HUGE}K]\n"),
    ("--dmesg", f"pci 0000:01:00.0: reg 0x{HUGE}: [mem 0x1000-0x1fff]\n"),
    ("--dmesg", f"pci 0000:01:00.0: BAR 0 [mem 0x{HUGE}-0x1fff]\n"),
    ("--iomem", f"{HUGE}-{HUGE} : PCI Bus 0000:00\n"),
])
def test_huge_numbers_in_host_files(tmp_path, flag, text):
    path = tmp_path / "input.txt"
    path.write_text(text)
    one_clear_error(cli("audit", flag, str(path)), f"{path}:")


def test_huge_numbers_in_a_stage2_dump(tmp_path):
    host = tmp_path / "host"
    (host / "proc").mkdir(parents=True)
    (host / "proc/iomem").write_text((EXAMPLE / "proc/iomem").read_text())
    dump = host / "sys/kernel/debug/kvm/1-2/stage2_page_tables"
    dump.parent.mkdir(parents=True)
    dump.write_text(f"0x{HUGE}-0x{HUGE} 4K 3 R W AF\n")
    one_clear_error(cli("audit", str(host)), "stage2_page_tables:1")


def test_huge_numbers_in_litmus_and_kernel(tmp_path):
    test = tmp_path / "t.litmus"
    test.write_text(MP.read_text().replace("0:X1=x;", f"0:X1=x; {HUGE}:X2=1;", 1))
    one_clear_error(cli("litmus", str(test)), "t.litmus:")
    test.write_text(MP.read_text().replace("#1", f"#{HUGE}", 1))
    one_clear_error(cli("litmus", str(test)), "t.litmus:")
    one_clear_error(cli("trace", "--kernel", f"6.{HUGE}", "--region", "pci-bar-prefetchable", "--guest", "ioremap_wc"),
                    "kernel version")
    one_clear_error(cli("decode", "mair-attr", HUGE), "MAIR")


@pytest.mark.parametrize("option", ["--rules", "--kinds"])
def test_non_utf8_config_files_name_line_and_column(tmp_path, option):
    path = tmp_path / "file"
    path.write_bytes(b"# ok\n[rules.MA004]\nenabled = f\xe9lse\n" if option == "--rules" else b"MP Allowed\nSB Allow\xffed\n")
    args = (["audit", "--iomem", str(EXAMPLE / "proc/iomem"), "--rules", str(path)] if option == "--rules"
            else ["litmus", str(MP), "--kinds", str(path)])
    done = cli(*args)
    one_clear_error(done, f"{path}:{3 if option == '--rules' else 2}:", "column", "UTF-8")


def test_error_lines_quote_at_most_about_80_characters(tmp_path):
    path = tmp_path / "lspci.txt"
    path.write_text("X" * 100_000 + "\n")
    done = cli("audit", "--lspci", str(path))
    one_clear_error(done, f"{path}:1:")
    assert len(done.stderr) < 300


# -- TOML errors name the right line ----------------------------------------------------------------

@pytest.mark.parametrize("text,line", [
    ('[rules.MA004]\nseverity = "note"\n[rules.MA002]\nseverity = "loud"\n', 4),
    ('[rules]\nMA004 = { enabled = true }\nMA002 = { enabled = "yes" }\n', 3),
    ('[rules.MA004]\nenabled = true\n\n[rules.MA099]\nenabled = false\n', 4),
    ('[rules.MA004]\nenabled = true\n[rules.MA002]\ncolour = "red"\n', 4),
    ('[rules.MA004]\nseverity = "note"\n[other]\nx = [\n  1,\n]\n', 3),
    ('[rules.MA004]\nenabled = true\nrules.MA002.enabled = 1\n', 3),
])
def test_toml_errors_name_the_line_of_the_error(tmp_path, run, text, line):
    path = tmp_path / "rules.toml"
    path.write_text(text)
    result = run("audit", str(EXAMPLE), "--rules", str(path))
    assert result.code == 2
    assert f"{path}:{line}:" in result.err, result.err


# -- outputs -----------------------------------------------------------------------------------------

def test_output_to_dev_null_keeps_the_device(run):
    result = run("table", "--json", "-o", "/dev/null")
    assert result.code == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_output_to_a_fifo_is_written_through(tmp_path, fifo):
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    done = cli("combine", "--s1", "0x44", "--s2", "0x1", "--json")
    assert done.returncode == 0
    from memattr.output import write_atomic

    write_atomic(fifo, done.stdout)
    out, _ = reader.communicate(timeout=10)
    assert out.decode() == done.stdout
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_output_dash_is_standard_output():
    done = cli("table", "--json", "-o", "-")
    assert done.returncode == 0 and done.stdout.startswith("{") or done.stdout.startswith("[")


def test_output_through_a_symlink_keeps_the_link(tmp_path, run):
    target = tmp_path / "real.json"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert run("table", "--json", "-o", str(link)).code == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith(("{", "["))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_new_output_files_follow_the_umask_and_existing_keep_their_mode(tmp_path, run):
    old = os.umask(0o027)
    try:
        assert run("table", "--json", "-o", str(tmp_path / "new.json")).code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o640
    existing = tmp_path / "existing.json"
    existing.write_text("x")
    existing.chmod(0o644)
    assert run("table", "--json", "-o", str(existing)).code == 0
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644


@pytest.mark.parametrize("where", ["/proc/memattr-test.json", "/sys/memattr-test.json", "/proc/self/status",
                                   "/nonexistent-dir/x.json"])
def test_unwritable_output_is_one_clear_error(where):
    one_clear_error(cli("table", "--json", "-o", where), where, "cannot write")


def test_output_into_a_read_only_directory(tmp_path):
    if os.geteuid() == 0:
        # root ignores directory permissions: use a read-only bind of the kernel's own read-only fs.
        one_clear_error(cli("table", "--json", "-o", "/proc/sys/memattr.json"), "cannot write")
        return
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    one_clear_error(cli("table", "--json", "-o", str(locked / "x.json")), "cannot write")
    assert list(locked.iterdir()) == []


def test_output_onto_a_directory(tmp_path):
    one_clear_error(cli("table", "--json", "-o", str(tmp_path)), "directory")


SLOW_REPLACE = """
import os, sys, time
real = os.replace
def slow(*args):
    time.sleep(60)
    real(*args)
os.replace = slow
from memattr.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _terminate_when(process: subprocess.Popen, appeared) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while not appeared():
        assert time.monotonic() < deadline, "the temporary file never appeared"
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.terminate()
    return process.wait(timeout=30)


def test_sigterm_during_an_output_write_leaves_nothing(tmp_path):
    out = tmp_path / "table.json"
    process = subprocess.Popen([sys.executable, "-c", SLOW_REPLACE, "table", "--json", "-o", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    code = _terminate_when(process, lambda: any(tmp_path.iterdir()))
    assert code == 128 + 15
    assert list(tmp_path.iterdir()) == []


def test_sigterm_during_collect_leaves_nothing(tmp_path):
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc/iomem").write_text((EXAMPLE / "proc/iomem").read_text())
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-c", SLOW_REPLACE, "collect", str(out), "--root", str(root),
                                "--no-lspci"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    code = _terminate_when(process, lambda: out.exists() and any(out.iterdir()))
    assert code == 128 + 15
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]


# -- collect -----------------------------------------------------------------------------------------

def test_collect_never_follows_a_link_out_of_its_root(tmp_path, run):
    secret = tmp_path / "secret"
    secret.write_text("00000000-0000ffff : top secret\n")
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc/iomem").symlink_to(secret)
    (root / "proc/modules").write_text("vfio_pci 16384 0 - Live 0x0\n")
    os.mkfifo(root / "proc/vmallocinfo")
    out = tmp_path / "out"
    out.mkdir()  # an existing empty OUTDIR is accepted
    result = run("collect", str(out), "--root", str(root), "--no-lspci", "--json")
    assert result.code == 0, result.err
    manifest = result.json()
    assert "proc/iomem" not in manifest["collected"] and "leaves the root" in manifest["unreadable"]["proc/iomem"]
    assert "FIFO" in manifest["unreadable"]["proc/vmallocinfo"]
    assert "proc/modules" in manifest["collected"]
    assert not (out / "proc/iomem").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "root", "secret"]


def test_collect_keeps_links_that_stay_inside(tmp_path):
    from memattr.platform.collect import collect

    root = tmp_path / "root"
    real = root / "sys/devices/pci0000:00/0000:00:01.0"
    real.mkdir(parents=True)
    (real / "resource").write_text("0x0000000010000000 0x0000000010003fff 0x0000000000040200\n")
    (real / "vendor").write_text("0x10de\n")
    devices = root / "sys/bus/pci/devices"
    devices.mkdir(parents=True)
    (devices / "0000:00:01.0").symlink_to("../../../devices/pci0000:00/0000:00:01.0")
    manifest = collect(tmp_path / "out", root=root, run_lspci=False, release="6.9.0")
    assert "sys/bus/pci/devices/0000:00:01.0/resource" in manifest.collected


def test_collect_refuses_a_non_empty_outdir(tmp_path, run):
    (tmp_path / "out").mkdir()
    (tmp_path / "out/keep").write_text("mine")
    result = run("collect", str(tmp_path / "out"), "--root", str(tmp_path), "--no-lspci")
    assert result.code == 2 and "not empty" in result.err
    assert (tmp_path / "out/keep").read_text() == "mine"


def test_collect_honours_the_umask(tmp_path):
    from memattr.platform.collect import collect

    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc/iomem").write_text((EXAMPLE / "proc/iomem").read_text())
    old = os.umask(0o077)
    try:
        collect(tmp_path / "out", root=root, run_lspci=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "out/proc/iomem").stat().st_mode) == 0o600


# -- fleet isolation ---------------------------------------------------------------------------------

def _fleet(tmp_path: Path) -> Path:
    fleet = tmp_path / "fleet"
    good = fleet / "a-good"
    (good / "proc").mkdir(parents=True)
    (good / "proc/iomem").write_text((EXAMPLE / "proc/iomem").read_text())
    (good / "lspci.txt").write_text((EXAMPLE / "lspci.txt").read_text())
    garbage = fleet / "b-garbage"
    garbage.mkdir()
    (garbage / "lspci.txt").write_bytes(b"\x00\xffgarbage\n")
    fifo_host = fleet / "c-fifo"
    (fifo_host / "proc").mkdir(parents=True)
    os.mkfifo(fifo_host / "proc/iomem")
    slow = fleet / "d-slow"
    (slow / "proc").mkdir(parents=True)
    (slow / "proc/iomem").write_text((EXAMPLE / "proc/iomem").read_text())
    return fleet


def test_fleet_reports_good_hosts_beside_garbage_hanging_and_fifo_hosts(tmp_path, monkeypatch, capsys):
    import memattr.audit.run as run_module

    real = run_module._audit_one

    def sometimes_hangs(args):  # type: ignore[no-untyped-def]
        if args[0].endswith("d-slow"):
            time.sleep(600)
        return real(args)

    monkeypatch.setattr(run_module, "_audit_one", sometimes_hangs)  # inherited by the forked workers
    fleet = _fleet(tmp_path)
    code = main(["audit", "--fleet", str(fleet), "--host-timeout", "2", "--jobs", "2", "--json"])
    captured = capsys.readouterr()
    import json

    data = json.loads(captured.out)
    status = {row["host"]: row["status"] for row in data["hosts"]}
    assert status == {"a-good": "ok", "b-garbage": "bad input", "c-fifo": "bad input", "d-slow": "failed"}
    assert "timed out" in next(r["error"] for r in data["hosts"] if r["host"] == "d-slow")
    assert data["totals"]["hosts"] == 4 and data["totals"]["ok"] == 1
    assert code == 3 and data["exit_status"] == 3


def test_fleet_text_has_a_status_column_and_a_totals_line(tmp_path, run):
    fleet = _fleet(tmp_path)
    os.unlink(fleet / "c-fifo/proc/iomem")
    (fleet / "c-fifo/proc/iomem").write_text((EXAMPLE / "proc/iomem").read_text())
    result = run("audit", "--fleet", str(fleet), "--fail-on", "none", "--jobs", "1")
    assert result.code == 2  # the worst host is bad input
    assert "bad input:" in result.out and "total: 4 hosts, 3 audited, 1 bad input, 0 failed" in result.out
    assert "memattr: bad input: b-garbage" in result.err


# -- litmus limits -----------------------------------------------------------------------------------

FOUR_BY_FOUR = """AArch64 W4x4
{
0:X1=x; 1:X1=x; 2:X1=x; 3:X1=x;
}
 P0          | P1          | P2          | P3          ;
""" + "".join(f" MOV W0,#{i}   | MOV W0,#{i + 4}   | MOV W0,#{i + 8}  | MOV W0,#{i + 12}  ;\n"
              f" STR W0,[X1] | STR W0,[X1] | STR W0,[X1] | STR W0,[X1] ;\n" for i in range(1, 5)) + "exists (x=1)\n"


def test_litmus_timeout_really_stops_a_test(tmp_path):
    path = tmp_path / "w.litmus"
    path.write_text(FOUR_BY_FOUR)
    started = time.monotonic()
    done = cli("litmus", str(path), "--timeout", "1", "--json", timeout=60)
    assert time.monotonic() - started < 20
    assert done.returncode == 3, done.stderr
    import json

    test = json.loads(done.stdout)["tests"][0]
    assert test["status"] == "unknown" and "timed out" in test["reason"] and test["kind"] == "Unknown"


def test_litmus_step_limit_really_stops_a_test(tmp_path, run):
    path = tmp_path / "w.litmus"
    path.write_text(FOUR_BY_FOUR)
    result = run("litmus", str(path), "--max-steps", "5000")
    assert result.code == 3
    assert "Unknown" in result.out and "--max-steps" in result.err


def test_litmus_limits_leave_ordinary_tests_alone(run):
    result = run("litmus", str(ROOT / "litmus/classic"), "--kinds", str(ROOT / "litmus/kinds.txt"))
    assert result.code == 0, result.err


def test_standard_input_as_one_host_file():
    lspci = (EXAMPLE / "lspci.txt").read_text()
    done = subprocess.run([sys.executable, "-m", "memattr", "audit", "--lspci", "-", "--kernel", "6.12", "--json",
                           "--fail-on", "none"], input=lspci, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    import json

    data = json.loads(done.stdout)
    assert data["host"] == "stdin" and data["summary"]["regions"] == 5
    bad = subprocess.run([sys.executable, "-m", "memattr", "audit", "--lspci", "-"], input="nothing\n",
                         capture_output=True, text=True, timeout=60)
    one_clear_error(bad, "<stdin>:1:")


def test_a_bad_test_in_a_batch_is_reported_and_the_batch_goes_on(tmp_path, run):
    for name in ("MP", "SB"):
        (tmp_path / f"{name}.litmus").write_text((ROOT / f"litmus/classic/{name}.litmus").read_text())
    (tmp_path / "BAD.litmus").write_text("AArch64 BAD\n{\n0:X1=x;\n}\n P0 ;\n FOO X0 ;\nexists (0:X0=1)\n")
    os.mkfifo(tmp_path / "FIFO.litmus")
    result = run("litmus", str(tmp_path), "--json")
    assert result.code == 4
    kinds = {t["name"]: t["kind"] for t in result.json()["tests"]}
    assert kinds == {"BAD": "Unsupported", "FIFO": "Unsupported", "MP": "Allowed", "SB": "Allowed"}
    assert "4 tests: 2 ran, 0 differ from --kinds, 0 unknown (limits), 2 unsupported" in result.err


@pytest.mark.parametrize("command", ["audit", "inventory", "litmus", "collect"])
def test_a_path_too_long_for_the_system_is_one_clear_error(command):
    """Found by the fuzz campaign: a 5,000-character path made pathlib raise ENAMETOOLONG."""
    one_clear_error(cli(command, "a" * 5000))
