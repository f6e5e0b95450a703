"""memattr beside herd7 on the same litmus sets, in one run: whole-process wall times and the slowest tests.

Per set it prints:
- herd7 with one process for the whole set and with one process per test (the sum of their wall times);
- memattr with one process for the set (``memattr litmus --json DIR``);
- the slowest tests of each (herd7's own ``Time`` lines, memattr's ``time_s``);
- how many tests take memattr over 10 ms and more than twice herd7's time for them (the goal is none).

Sets: the bundled classic catalogue and diy7 sets regenerated into a temporary directory (the commands of
litmus/diy/README.md).  ``--herd-tests DIR`` adds a directory such as herd's own
``herd/tests/instructions/AArch64``; ``--large`` adds the 2,418- and 3,899-test sets; ``--per-test N``
limits the one-process-per-test herd7 runs to the first N tests of a set (default 300) and scales.
Needs the herdtools7 build beside the checkout (../shared/tools/herdtools7); prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT.parent / "shared" / "tools" / "herdtools7"
sys.path.insert(0, str(ROOT / "tests" / "litmus"))

DIY = {  # name: (nprocs, size, safe) as in litmus/diy/README.md
    "diy-2thread": (2, 5, "Rfe Fre Wse PodWW PodWR PodRW PodRR DpAddrdR DpAddrdW DpDatadW DpCtrldW DpCtrlIsbdR "
                          "DMB.SYdWW DMB.SYdRR DMB.STdWW PosRR Rfi Fri Wsi Coi"),
    "diy-3thread-acqrel-atomics": (3, 5, None),
    "diy-4thread": (4, 6, None),
}
LARGE = {"diy-2thread-acqrel-atomics": (2, 5, None), "diy-4thread-size8": (4, 8, None)}


def _safe(name: str) -> str:
    from test_diy import ACQREL, FOUR, FOUR8  # the commands the tests use

    return {"diy-3thread-acqrel-atomics": ACQREL, "diy-2thread-acqrel-atomics": ACQREL, "diy-4thread": FOUR,
            "diy-4thread-size8": FOUR8}[name]


def generate(name: str, nprocs: int, size: int, safe: str | None, into: Path) -> Path:
    target = into / name
    target.mkdir()
    subprocess.run([str(TOOLS / "bin/diy7"), "-set-libdir", str(TOOLS / "diy-libdir"), "-arch", "AArch64",
                    "-nprocs", str(nprocs), "-eprocs", "-size", str(size), "-num", "false",
                    "-safe", safe or _safe(name), "-o", str(target)], check=True, capture_output=True)
    return target


def herd7(files: list[Path]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run([str(TOOLS / "bin/herd7"), "-set-libdir", str(TOOLS / "libdir"), "-model", "aarch64.cat",
                             *map(str, files)], capture_output=True, text=True, check=False)
    return time.perf_counter() - start, result.stdout


def memattr(directory: Path) -> tuple[float, dict]:  # type: ignore[type-arg]
    start = time.perf_counter()
    result = subprocess.run([str(ROOT / ".venv/bin/memattr"), "litmus", "--json", str(directory)],
                            capture_output=True, text=True, check=False)
    return time.perf_counter() - start, json.loads(result.stdout)


def report(name: str, directory: Path, per_test_limit: int) -> None:
    files = sorted(directory.glob("*.litmus"))
    herd_set, output = herd7(files)
    herd_times = {m.group(1): float(m.group(2)) for m in re.finditer(r"^Time (\S+) ([\d.]+)", output, re.M)}
    herd_kinds = {m.group(1): m.group(2) for m in re.finditer(r"^Observation (\S+) (\w+)", output, re.M)}
    sample = files[:per_test_limit]
    per_test = sum(herd7([path])[0] for path in sample) * len(files) / max(len(sample), 1)
    mem_set, data = memattr(directory)
    tests = {t["name"]: t for t in data["tests"]}
    ran = [t for t in tests.values() if t["status"] == "ok"]
    agree = sum(1 for t in ran if herd_kinds.get(t["name"]) == t["observation"])
    slow = [t["name"] for t in ran if t["time_s"] > 0.010 and t["time_s"] > 2 * herd_times.get(t["name"], 0.0)]
    print(f"{name}: {len(files)} tests, memattr ran {len(ran)}, same verdict as herd7 on {agree}")
    scaled = " (scaled from %d)" % len(sample) if len(sample) < len(files) else ""
    print(f"  whole process: herd7 one process {herd_set:.2f} s, herd7 one per test {per_test:.1f} s{scaled}, "
          f"memattr one process {mem_set:.2f} s")
    top_herd = sorted(herd_times.items(), key=lambda item: -item[1])[:3]
    top_mem = sorted(((t["time_s"], t["name"]) for t in ran), reverse=True)[:3]
    print("  slowest herd7: " + ", ".join(f"{n} {s * 1000:.0f} ms" for n, s in top_herd))
    print("  slowest memattr: " + ", ".join(f"{n} {s * 1000:.1f} ms" for s, n in top_mem))
    print(f"  memattr over 10 ms and over twice herd7's time: {len(slow)}" + (f" ({', '.join(slow[:5])})" if slow else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--herd-tests", type=Path, help="a directory of herd7 tests, e.g. herd/tests/instructions/AArch64")
    parser.add_argument("--large", action="store_true", help="also the 2,418- and 3,899-test diy sets")
    parser.add_argument("--per-test", type=int, default=300, help="herd7 one-process-per-test runs per set (scaled)")
    args = parser.parse_args()
    if not (TOOLS / "bin/herd7").exists():
        print(f"herd7 is not at {TOOLS}: nothing to compare")
        return
    work = Path(tempfile.mkdtemp(prefix="memattr-herd-"))
    try:
        classic = work / "classic"
        shutil.copytree(ROOT / "litmus/classic", classic)
        report("litmus/classic", classic, args.per_test)
        for name, (nprocs, size, safe) in {**DIY, **(LARGE if args.large else {})}.items():
            report(name, generate(name, nprocs, size, safe, work), args.per_test)
        if args.herd_tests:
            report(f"herd tests ({args.herd_tests.name})", args.herd_tests, args.per_test)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
