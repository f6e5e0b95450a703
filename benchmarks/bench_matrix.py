"""Time to compute the full stage-1 x stage-2 matrix (256 x 16 cells, FWB off and on).

Each sample runs in a fresh interpreter so the figure is the cold cost after import, which is
what a user of ``memattr table`` pays; the warm figure repeats the computation in-process.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

SAMPLE = r"""
import time
from memattr.arch.matrix import matrix
t = time.perf_counter()
cells = matrix(fwb=False) + matrix(fwb=True)
cold = time.perf_counter() - t
t = time.perf_counter()
cells = matrix(fwb=False) + matrix(fwb=True)
warm = time.perf_counter() - t
assert len(cells) == 2 * 256 * 16
print(cold, warm)
"""


def main(runs: int = 7) -> None:
    colds, warms = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", SAMPLE], check=True, capture_output=True, text=True).stdout
        cold, warm = map(float, out.split())
        colds.append(cold * 1000)
        warms.append(warm * 1000)
    print(f"matrix (2 x 256 x 16 = 8192 cells), {runs} fresh processes:")
    print(f"  cold after import: median {statistics.median(colds):.1f} ms  (min {min(colds):.1f}, max {max(colds):.1f})")
    print(f"  warm, in-process:  median {statistics.median(warms):.1f} ms  (min {min(warms):.1f}, max {max(warms):.1f})")
    print("  goal: <= 50 ms after import")


if __name__ == "__main__":
    main()
