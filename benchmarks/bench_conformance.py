"""Whole-process times of the conformance kit's commands, measured side by side in one run.

- ``memattr table --json -o FILE``: the 256 x 16 matrix as JSON (goal: under 150 ms);
- ``memattr vectors -o DIR``: the whole input space, 9,437,184 rows (goal: under 10 s);
- ``memattr conformance --profile qemu|kvm-at``: the default profile reports.

For scale, the same run times the floor under every command: the interpreter alone (``python -c
pass``) and the interpreter importing click, which the command line is built on.  Each figure is the
wall-clock median and the child's CPU time (user + system), which a busy machine disturbs less.

Prints figures; asserts nothing.  ``--quick`` skips the whole-space run.
"""

from __future__ import annotations

import shutil
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The command users run: the installed console script beside this interpreter (python -m memattr also pays for
# runpy), or the module where no script is installed.
_SCRIPT = Path(sys.executable).with_name("memattr")
MEMATTR = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "memattr"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], runs: int, command: list[str] | None = None) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each run of ``memattr ARGS`` (or of ``command``)."""
    times = []
    for _ in range(runs):
        cpu = _children_cpu()
        start = time.perf_counter()
        subprocess.run(command or MEMATTR + args, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - start, _children_cpu() - cpu))
    return times


def show(name: str, times: list[tuple[float, float]], goal: str) -> None:
    wall = [w * 1000 for w, _ in times]
    cpu = [c * 1000 for _, c in times]
    print(f"  {name}: median {statistics.median(wall):.0f} ms (min {min(wall):.0f}, max {max(wall):.0f}, "
          f"{len(times)} runs), CPU median {statistics.median(cpu):.0f} ms; goal {goal}")


def main() -> None:
    quick = "--quick" in sys.argv
    work = Path(tempfile.mkdtemp(prefix="memattr-bench-"))
    try:
        print(f"conformance kit, whole processes ({' '.join(Path(a).name for a in MEMATTR)}):")
        timed(["table", "--json", "-o", str(work / "warm.json")], 1)  # warm the file cache
        # The short commands in rounds, one run of each per round, so that the machine's changes of speed
        # fall on all of them alike.
        short = {
            "floor: python -c pass": ([sys.executable, "-c", "pass"], "none"),
            "floor: python -c 'import click'": ([sys.executable, "-c", "import click"], "none"),
            "table --json -o FILE (4,096 cells)": (MEMATTR + ["table", "--json", "-o", str(work / "t.json")],
                                                   "< 150 ms"),
            "table --fwb --json -o FILE": (MEMATTR + ["table", "--fwb", "--json", "-o", str(work / "f.json")],
                                           "< 150 ms"),
        }
        rounds = 15
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in short}
        for _ in range(rounds):
            for name, (command, _) in short.items():
                times[name] += timed([], 1, command)
        for name, (_, goal) in short.items():
            show(name, times[name], goal)
        if not quick:
            show("vectors -o DIR (9,437,184 rows, 2 processes)", timed(["vectors", "-o", str(work / "v")], 1),
                 "< 10 s")
            for profile in ("qemu", "kvm-at"):
                show(f"conformance --profile {profile}", timed(["conformance", "--profile", profile], 1), "none set")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
