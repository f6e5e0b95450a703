"""Whole-process times of the conformance kit's commands, measured side by side in one run.

- ``memattr table --json -o FILE``: the 256 x 16 matrix as JSON (goal: under 150 ms);
- ``memattr vectors -o DIR``: the whole input space, 9,437,184 rows (goal: under 10 s);
- ``memattr conformance --profile qemu|kvm-at``: the default profile reports.

Prints figures; asserts nothing.  ``--quick`` skips the whole-space run.
"""

from __future__ import annotations

import shutil
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


def timed(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(MEMATTR + args, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def show(name: str, times: list[float], goal: str) -> None:
    print(f"  {name}: median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, "
          f"max {max(times) * 1000:.0f}, {len(times)} runs); goal {goal}")


def main() -> None:
    quick = "--quick" in sys.argv
    work = Path(tempfile.mkdtemp(prefix="memattr-bench-"))
    try:
        print(f"conformance kit, whole processes ({' '.join(Path(a).name for a in MEMATTR)}):")
        timed(["table", "--json", "-o", str(work / "warm.json")], 1)  # warm the file cache
        show("table --json -o FILE (4,096 cells)", timed(["table", "--json", "-o", str(work / "t.json")], 9),
             "< 150 ms")
        show("table --fwb --json -o FILE", timed(["table", "--fwb", "--json", "-o", str(work / "f.json")], 9),
             "< 150 ms")
        if not quick:
            show("vectors -o DIR (9,437,184 rows, 2 processes)", timed(["vectors", "-o", str(work / "v")], 1),
                 "< 10 s")
            for profile in ("qemu", "kvm-at"):
                show(f"conformance --profile {profile}", timed(["conformance", "--profile", profile], 1), "none set")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
