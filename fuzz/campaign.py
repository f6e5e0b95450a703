"""The hostile-input campaign: mutate real inputs and check every reader keeps the promise.

The promise (README): bad input is one line on standard error with file:line, exit status 2; never a
traceback, never a hang, never unbounded memory.  For each reader this feeds N mutated inputs (seeded
from the real files in examples/, tests/data/ and litmus/) through the same path the command line
takes (the input layer, then the parser, then the model), and a set of special files (FIFO,
/dev/zero, a directory, a socket, a symlink to a FIFO) through the real command line in a
subprocess.  It prints one table row per reader:

    inputs | tracebacks | hangs (> 5 s) | wrong exit codes | peak RSS

Every bad column must be 0; the failing inputs are written to ``--keep DIR`` for reproduction.

    python fuzz/campaign.py [--per-reader 100000] [--jobs 2] [--readers iomem,lspci] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
HANG_SECONDS = 5.0
MEMORY_LIMIT = 2 << 30  # a worker that allocates past 2 GiB counts as a failure (MemoryError)


# -- readers: each takes the path of a file holding one input and raises MemattrError on bad input ----

def _host_reader(kind: str) -> Callable[[str], object]:
    def read(path: str) -> object:
        from memattr.audit.engine import audit_regions
        from memattr.audit.from_inventory import evidence_of, regions_of
        from memattr.linux.evidence import detect_policy
        from memattr.platform.host import load_host

        inventory = load_host(None, name="fuzz", overrides={kind: path})
        detection = detect_policy(evidence_of(inventory))
        return audit_regions("fuzz", regions_of(inventory), detection=detection, fwb=bool(detection.fwb),
                             guest_map="auto")
    return read


def _side_reader(kind: str) -> Callable[[str], object]:
    """Readers that are not a region source: read with a known-good iomem beside them."""
    good = str(ROOT / "examples/arm64-server/proc/iomem")

    def read(path: str) -> object:
        from memattr.platform.host import load_host

        return load_host(None, name="fuzz", overrides={"iomem": good, kind: path})
    return read


def _sysfs_reader(path: str) -> object:
    from memattr.platform.host import load_host

    directory = Path(path + ".d")
    device = directory / "0000:01:00.0"
    if not device.exists():
        device.mkdir(parents=True)
        shutil.copy(ROOT / "examples/arm64-server/sys/bus/pci/devices/0000:01:00.0/vendor", device / "vendor")
    shutil.copy(path, device / "resource")
    return load_host(None, name="fuzz", overrides={"sysfs": str(directory)})


def _rules_reader(path: str) -> object:
    from memattr.audit.config import load_config

    return load_config(path)


def _kinds_reader(path: str) -> object:
    from memattr.cli.litmus_cmds import read_kinds

    return read_kinds(path)


def _litmus_reader(path: str) -> object:
    from memattr.litmus.limits import Budget
    from memattr.litmus.parser import parse_file
    from memattr.litmus.run import run_test

    return run_test(parse_file(path), budget=Budget(timeout=2.0, max_steps=200_000))


def _numbers_reader(path: str) -> object:
    """The numeric command-line arguments: each line of the input is one argument vector."""
    import contextlib
    import io

    from memattr.cli import main

    codes = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[:1]:
        argv = line.split("\t")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = main(argv)
        if code not in (0, 1, 2):
            raise WrongExit(f"{argv!r} exited {code}")
        codes.append(code)
    if 2 in codes:
        from memattr.errors import MemattrError

        raise MemattrError("rejected")  # what the command line reported as bad input (exit 2)
    return codes


class WrongExit(Exception):
    pass


@dataclass
class Reader:
    name: str
    read: Callable[[str], object]
    seeds: list[Path]
    binary: bool = False
    cli: list[str] = field(default_factory=list)  # the command line that reads FILE, for special files


def readers() -> list[Reader]:
    ex = ROOT / "examples"
    data = ROOT / "tests/data/platform"
    hosts = ROOT / "tests/data/hosts"

    def found(*patterns: str) -> list[Path]:
        out: list[Path] = []
        for pattern in patterns:
            out.extend(sorted(ROOT.glob(pattern)))
        return [p for p in out if p.is_file()]

    audit = ["audit", "--format", "json", "-o", os.devnull, "--fail-on", "none"]
    return [
        Reader("iomem", _host_reader("iomem"), found("examples/*/proc/iomem", "tests/data/platform/iomem-*.txt",
                                                      "tests/data/hosts/*/iomem*.txt"), cli=[*audit, "--iomem"]),
        Reader("lspci", _host_reader("lspci"), found("examples/*/lspci.txt", "tests/data/platform/lspci-*.txt",
                                                      "tests/data/hosts/*/lspci*.txt"), cli=[*audit, "--lspci"]),
        Reader("sysfs", _sysfs_reader, found("examples/*/sys/bus/pci/devices/*/resource"), cli=[]),
        Reader("kernel log", _host_reader("dmesg"), found("examples/*/dmesg.txt", "tests/data/platform/kmsg-*.txt",
                                                           "tests/data/hosts/*/dmesg*.txt"), cli=[*audit, "--dmesg"]),
        Reader("dtb", _host_reader("fdt"), found("examples/*/sys/firmware/fdt"), binary=True, cli=[*audit, "--dtb"]),
        Reader("host ptdump", _side_reader("ptdump"), found("examples/*/sys/kernel/debug/kernel_page_tables"),
               cli=[*audit, "--iomem", str(ex / "arm64-server/proc/iomem"), "--ptdump"]),
        Reader("vmallocinfo", _side_reader("vmallocinfo"), found("examples/*/proc/vmallocinfo"),
               cli=[*audit, "--iomem", str(ex / "arm64-server/proc/iomem"), "--vmallocinfo"]),
        Reader("stage-2 ptdump", _stage2_reader, found("tests/data/platform/stage2-*.txt") or [_STAGE2_SEED], cli=[]),
        Reader("QEMU mtree", _side_reader("mtree"), found("tests/data/platform/qemu-mtree-*.txt"),
               cli=[*audit, "--iomem", str(ex / "arm64-server/proc/iomem"), "--mtree"]),
        Reader("config", _side_reader("config"), found("examples/*/config"),
               cli=[*audit, "--iomem", str(ex / "arm64-server/proc/iomem"), "--config-file"]),
        Reader("modules", _side_reader("modules"), found("examples/*/proc/modules"),
               cli=[*audit, "--iomem", str(ex / "arm64-server/proc/iomem"), "--modules"]),
        Reader("kallsyms", _side_reader("kallsyms"), found("examples/*/proc/kallsyms") or [_KALLSYMS_SEED], cli=[]),
        Reader("TOML rules", _rules_reader, found("tests/data/rules/*.toml") or [_RULES_SEED],
               cli=[*audit, "--iomem", str(ex / "arm64-server/proc/iomem"), "--rules"]),
        Reader("kinds", _kinds_reader, found("litmus/kinds.txt", "litmus/device/kinds.txt"),
               cli=["litmus", str(ROOT / "litmus/classic/MP.litmus"), "--kinds"]),
        Reader("litmus", _litmus_reader, found("litmus/classic/*.litmus", "litmus/device/*.litmus"), cli=["litmus"]),
        Reader("CLI numbers", _numbers_reader, _NUMBERS_SEEDS, cli=[]),
    ]


def _seed_file(name: str, text: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"memattr-fuzz-seed-{name}"
    path.write_text(text, encoding="utf-8")
    return path


# Stage-2 dumps (arch/arm64/kvm/ptdump.c, v6.11+ format), kallsyms lines and rule files as the
# kernel and the README write them; the repo has no captured stage-2 dump yet.
_STAGE2_SEED = _seed_file("stage2", """---[ Guest IPA ]---
0x0000000000000000-0x0000000040000000           1G 1   R W X AF
0x0000000040000000-0x0000000040200000           2M 2   R W X AF
0x0000000040200000-0x0000000040201000           4K 3   R W   AF
0x0000008000000000-0x0000008001000000          16M 2   R W   AF
""")
_KALLSYMS_SEED = _seed_file("kallsyms", """ffff800080010000 T kvm_arch_prepare_memory_region
ffff800080020000 T user_mem_abort
ffff800080030000 t vfio_pci_core_mmap\t[vfio_pci_core]
ffff800080040000 t nvgrace_gpu_mmap\t[nvgrace_gpu_vfio_pci]
""")
_RULES_SEED = _seed_file("rules", """# memattr rule configuration
[rules.MA004]
enabled = false

[rules.mismatched-attribute-aliases]
severity = "error"

[rules]
MA008 = { severity = "note" }
""")
_NUMBERS_SEEDS = [_seed_file(f"numbers-{n}", line + "\n") for n, line in enumerate([
    "decode\tmair\t0x000000000044ff04",
    "decode\tmair-attr\t0x44",
    "decode\ts2\t0x5\t--fwb",
    "decode\tpte\t0x0068000080000f07\t--stage\t1\t--mair\t0x000000040044ffff",
    "combine\t--s1\t0x44\t--s2\t0x1\t--json",
    "trace\t--kernel\t6.9\t--region\tpci-bar-prefetchable\t--guest\tioremap_wc\t--json",
    "audit\t--iomem\t" + str(ROOT / "examples/arm64-server/proc/iomem") + "\t--kernel\t6.12\t--fail-on\tnone",
])]


def _stage2_reader(path: str) -> object:
    from memattr.platform.host import load_host

    directory = Path(path + ".d")
    vm = directory / "sys/kernel/debug/kvm/1234-5"
    vm.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, vm / "stage2_page_tables")
    (directory / "proc").mkdir(exist_ok=True)
    shutil.copy(ROOT / "examples/arm64-server/proc/iomem", directory / "proc/iomem")
    return load_host(directory, name="fuzz")


# -- mutation ---------------------------------------------------------------------------------------

NUMBERS = ["0", "-1", "1" * 5000, "f" * 4400, "0x" + "f" * 17, "18446744073709551616", "99999999999999999999",
           "0x", "-0x8000000000000000", "١٢٣", "1e9", "0b102", "+5", "00000000000000000000000000000000000000001"]
JUNK = [b"\x00", b"\xff\xfe", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\r\n", b"\t", b"\xef\xbb\xbf",
        b"[", b"]", b"{", b"}", b"|", b";", b"=", b":", b"(", b")", b"#", b"\"", b"'", b"\\", b"-" * 100,
        b" " * 40, b"0x", b"\n" * 3]


def mutate(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        choice = rng.randrange(12)
        if not out:
            out.extend(rng.choice(JUNK))
            continue
        at = rng.randrange(len(out))
        if choice == 0:
            out[at] = rng.randrange(256)  # byte flip
        elif choice == 1:
            out[at:at] = rng.choice(JUNK)  # insert junk or a bad UTF-8 sequence
        elif choice == 2:
            del out[at:at + rng.randrange(1, 40)]  # delete a run
        elif choice == 3:
            del out[at:]  # truncate
        elif choice in (4, 5):  # replace a number by an odd one
            text = out.decode("latin-1")
            spans = [m.span() for m in re.finditer(r"[0-9a-fA-Fx]{1,20}", text)]
            if spans:
                start, end = rng.choice(spans)
                out[start:end] = rng.choice(NUMBERS).encode()
        elif choice == 6:  # duplicate, delete or swap lines
            lines = out.split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            op = rng.randrange(3)
            if op == 0:
                lines.insert(i, lines[j])
            elif op == 1:
                del lines[i]
            else:
                lines[i], lines[j] = lines[j], lines[i]
            out = bytearray(b"\n".join(lines))
        elif choice == 7 and others:  # splice a line from another seed
            donor = rng.choice(others).split(b"\n")
            lines = out.split(b"\n")
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(donor))
            out = bytearray(b"\n".join(lines))
        elif choice == 8:  # re-encode
            text = out.decode("utf-8", errors="replace")
            out = bytearray(rng.choice([text.encode("utf-16"), text.encode("latin-1", errors="replace"),
                                        text.replace("\n", "\r\n").encode(), text.upper().encode()]))
        elif choice == 9:  # a very long line
            out[at:at] = rng.choice([b"a", b"0", b" ", b"[", b"("]) * rng.choice((100, 5000, 100_000))
        elif choice == 10:  # indentation
            lines = out.split(b"\n")
            i = rng.randrange(len(lines))
            lines[i] = b" " * rng.randrange(0, 30) + lines[i].lstrip()
            out = bytearray(b"\n".join(lines))
        else:  # repeat a block (grows the input)
            end = min(len(out), at + rng.randrange(1, 400))
            out[at:at] = out[at:end] * rng.randrange(2, 30)
    return bytes(out)


# -- running ----------------------------------------------------------------------------------------

class Hang(BaseException):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang()


def _work(args: tuple[str, int, int, int, str | None]) -> dict[str, object]:
    name, start, count, seed, keep = args
    from memattr.errors import MemattrError

    reader = next(r for r in readers() if r.name == name)
    seeds = [p.read_bytes() for p in reader.seeds]
    rng = random.Random(seed * 1_000_003 + start)
    signal.signal(signal.SIGALRM, _alarm)
    counts = {"inputs": 0, "ok": 0, "bad input": 0, "tracebacks": 0, "hangs": 0, "wrong exit": 0}
    examples: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="memattr-fuzz-"))
    path = work / "input"
    try:
        for number in range(start, start + count):
            data = mutate(rng.choice(seeds), rng, seeds) if number % 50 else rng.choice(seeds)
            path.write_bytes(data)
            counts["inputs"] += 1
            outcome = "ok"
            detail = ""
            signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
            try:
                reader.read(str(path))
            except MemattrError as error:
                outcome = "bad input"
                text = str(error)
                if "\n" in text or len(text) > 4000:
                    outcome, detail = "wrong exit", f"error line of {len(text)} characters: {text[:200]}"
            except WrongExit as error:
                outcome, detail = "wrong exit", str(error)
            except Hang:
                outcome, detail = "hangs", f"over {HANG_SECONDS:g} s"
            except BaseException:  # noqa: BLE001 - this is what the campaign looks for
                import traceback

                outcome, detail = "tracebacks", traceback.format_exc(limit=-3)[-700:]
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            counts[outcome] += 1
            if outcome in ("tracebacks", "hangs", "wrong exit") and keep:
                keep_dir = Path(keep) / re.sub(r"\W+", "-", name)
                keep_dir.mkdir(parents=True, exist_ok=True)
                (keep_dir / f"{outcome.replace(' ', '-')}-{number}").write_bytes(data)
            if outcome in ("tracebacks", "hangs", "wrong exit") and len(examples) < 3:
                examples.append(f"{outcome} #{number}: {detail}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    counts["rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"counts": counts, "examples": examples}


def special_files(reader: Reader) -> dict[str, object]:
    """FIFO, /dev/zero, a directory, a socket, a symlink to a FIFO and a huge file through the CLI."""
    if not reader.cli:
        return {"inputs": 0, "wrong exit": 0, "hangs": 0, "tracebacks": 0, "examples": []}
    work = Path(tempfile.mkdtemp(prefix="memattr-special-"))
    fifo = work / "fifo"
    os.mkfifo(fifo)
    link = work / "link-to-fifo"
    link.symlink_to(fifo)
    sock_path = work / "socket"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    cases = {"FIFO": fifo, "/dev/zero": Path("/dev/zero"), "directory": work, "socket": sock_path,
             "symlink to FIFO": link, "/dev/null": Path("/dev/null")}
    result: dict[str, object] = {"inputs": 0, "wrong exit": 0, "hangs": 0, "tracebacks": 0, "examples": []}
    try:
        for what, path in cases.items():
            argv = [*reader.cli, str(path)]
            result["inputs"] += 1  # type: ignore[operator]
            try:
                done = subprocess.run([sys.executable, "-m", "memattr", *argv], capture_output=True, text=True,
                                      timeout=HANG_SECONDS, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                result["hangs"] += 1  # type: ignore[operator]
                result["examples"].append(f"{what}: hang")  # type: ignore[union-attr]
                continue
            if "Traceback" in done.stderr:
                result["tracebacks"] += 1  # type: ignore[operator]
                result["examples"].append(f"{what}: {done.stderr[-300:]}")  # type: ignore[union-attr]
            elif done.returncode != 2 or len(done.stderr.strip().splitlines()) != 1:
                result["wrong exit"] += 1  # type: ignore[operator]
                result["examples"].append(f"{what}: exit {done.returncode}: {done.stderr[-300:]}")  # type: ignore[union-attr]
    finally:
        sock.close()
        shutil.rmtree(work, ignore_errors=True)
    return result


def campaign(per_reader: int, jobs: int, names: list[str] | None, seed: int, keep: str | None,
             special: bool = True, out=sys.stdout) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    rows = []
    context = get_context("fork")
    for reader in readers():
        if names and reader.name not in names:
            continue
        if not reader.seeds:
            raise SystemExit(f"fuzz: no seed files for {reader.name}")
        started = time.monotonic()
        chunk = max(1, min(2000, per_reader // (jobs * 4) or 1))
        tasks = [(reader.name, start, min(chunk, per_reader - start), seed, keep)
                 for start in range(0, per_reader, chunk)]
        totals = {"inputs": 0, "ok": 0, "bad input": 0, "tracebacks": 0, "hangs": 0, "wrong exit": 0}
        examples: list[str] = []
        rss = 0
        with context.Pool(jobs, initializer=_limit_memory, maxtasksperchild=None) as pool:
            for part in pool.imap_unordered(_work, tasks):
                for key in totals:
                    totals[key] += part["counts"][key]  # type: ignore[index]
                rss = max(rss, part["counts"]["rss_kib"])  # type: ignore[index]
                examples.extend(part["examples"])  # type: ignore[arg-type]
        specials = special_files(reader) if special else {"inputs": 0, "wrong exit": 0, "hangs": 0,
                                                          "tracebacks": 0, "examples": []}
        row = {"reader": reader.name, "inputs": totals["inputs"] + specials["inputs"],  # type: ignore[operator]
               "ok": totals["ok"], "bad input": totals["bad input"],
               "tracebacks": totals["tracebacks"] + specials["tracebacks"],  # type: ignore[operator]
               "hangs": totals["hangs"] + specials["hangs"],  # type: ignore[operator]
               "wrong exit codes": totals["wrong exit"] + specials["wrong exit"],  # type: ignore[operator]
               "peak RSS MiB": round(rss / 1024), "seconds": round(time.monotonic() - started, 1),
               "examples": examples[:3] + specials["examples"][:3]}  # type: ignore[index]
        rows.append(row)
        print(_format_row(row), file=out, flush=True)
    return rows


def _limit_memory() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT + (1 << 30), MEMORY_LIMIT + (1 << 30)))
    except (ValueError, OSError):
        pass


HEADER = f"{'reader':<16} {'inputs':>8} {'ok':>8} {'bad input':>9} {'tracebacks':>10} {'hangs':>6} " \
         f"{'wrong exit':>10} {'peak RSS MiB':>12} {'seconds':>8}"


def _format_row(row: dict[str, object]) -> str:
    return (f"{row['reader']:<16} {row['inputs']:>8} {row['ok']:>8} {row['bad input']:>9} {row['tracebacks']:>10} "
            f"{row['hangs']:>6} {row['wrong exit codes']:>10} {row['peak RSS MiB']:>12} {row['seconds']:>8}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-reader", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--readers", help="comma-separated reader names (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="directory to write failing inputs to")
    args = parser.parse_args()
    print(HEADER, flush=True)
    rows = campaign(args.per_reader, args.jobs, args.readers.split(",") if args.readers else None, args.seed,
                    args.keep)
    bad = [row for row in rows if row["tracebacks"] or row["hangs"] or row["wrong exit codes"]]
    total = sum(int(row["inputs"]) for row in rows)  # type: ignore[call-overload]
    print(f"total: {total} inputs, {len(bad)} readers with failures", flush=True)
    for row in bad:
        for example in row["examples"]:  # type: ignore[union-attr]
            print(f"--- {row['reader']}: {example}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
