"""Whole-process times of the conformance kit's commands, measured side by side in one run.

- ``memattr table --json -o FILE``: the 256 x 16 matrix as JSON (goal: under 150 ms);
- ``memattr vectors -o DIR``: the whole input space, 9,437,184 rows (goal: under 10 s);
- ``memattr conformance --profile qemu|kvm-at``: the default profile reports.

For scale, the same run times the floor under every command: the interpreter alone (``python -c
pass``) and the interpreter importing click, which the command line is built on.  Each figure is the
wall-clock median and the child's CPU time (user + system), which a busy machine disturbs less.

Prints figures; asserts nothing.  ``--quick`` skips the whole-space run; ``--rounds N`` (default 15) and
``--pause S`` (seconds between rounds, default 0) spread the short commands' runs over a longer time, since
these machines' speed changes by about half within minutes.
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


def timed(command: list[str], runs: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each run of ``command``."""
    times = []
    for _ in range(runs):
        cpu = _children_cpu()
        start = time.perf_counter()
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - start, _children_cpu() - cpu))
    return times


def show(name: str, times: list[tuple[float, float]], goal: str, goal_ms: float | None = None) -> None:
    wall = sorted(w * 1000 for w, _ in times)
    cpu = [c * 1000 for _, c in times]
    quartiles = f", quartiles {wall[len(wall) // 4]:.0f}-{wall[3 * len(wall) // 4]:.0f}" if len(wall) >= 4 else ""
    under = (f", {sum(w < goal_ms for w in wall) / len(wall):.0%} of runs under the goal"
             if goal_ms is not None else "")
    print(f"  {name}: median {statistics.median(wall):.0f} ms (min {wall[0]:.0f}, max {wall[-1]:.0f}{quartiles}, "
          f"{len(times)} runs{under}), CPU median {statistics.median(cpu):.0f} ms; goal {goal}")


def _option(name: str, default: float) -> float:
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def main() -> None:
    quick = "--quick" in sys.argv
    work = Path(tempfile.mkdtemp(prefix="memattr-bench-"))
    try:
        print(f"conformance kit, whole processes ({' '.join(Path(a).name for a in MEMATTR)}):")
        timed(MEMATTR + ["table", "--json", "-o", str(work / "warm.json")], 1)  # warm the file cache
        # The short commands in rounds, one run of each per round, so that the machine's changes of speed
        # fall on all of them alike.
        short = {
            "floor: python -c pass": ([sys.executable, "-c", "pass"], None),
            "floor: python -c 'import click'": ([sys.executable, "-c", "import click"], None),
            "table --json -o FILE (4,096 cells)": (MEMATTR + ["table", "--json", "-o", str(work / "t.json")], 150),
            "table --fwb --json -o FILE": (MEMATTR + ["table", "--fwb", "--json", "-o", str(work / "f.json")], 150),
        }
        rounds, pause = int(_option("--rounds", 15)), _option("--pause", 0)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in short}
        for index in range(rounds):
            for name, (command, _) in short.items():
                times[name] += timed(command, 1)
            if pause and index + 1 < rounds:
                time.sleep(pause)
        for name, (_, goal_ms) in short.items():
            show(name, times[name], f"< {goal_ms} ms" if goal_ms else "none", goal_ms)
        if not quick:
            show("vectors -o DIR (9,437,184 rows, 2 processes)", timed(MEMATTR + ["vectors", "-o", str(work / "v")], 1),
                 "< 10 s")
            for profile in ("qemu", "kvm-at"):
                show(f"conformance --profile {profile}", timed(MEMATTR + ["conformance", "--profile", profile], 1), "none set")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
