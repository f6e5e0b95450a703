"""Litmus throughput over the bundled catalogue: tests per second and the slowest test. Prints figures."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from memattr.litmus.parser import parse_file
from memattr.litmus.run import run_test

ROOT = Path(__file__).resolve().parents[1] / "litmus"


def main(rounds: int = 5) -> None:
    files = sorted(ROOT.rglob("*.litmus"))
    per_test: dict[str, list[float]] = {}
    totals = []
    for _ in range(rounds):
        start = time.perf_counter()
        for path in files:
            t0 = time.perf_counter()
            run_test(parse_file(path), keep_witness=True)
            per_test.setdefault(path.stem, []).append(time.perf_counter() - t0)
        totals.append(time.perf_counter() - start)
    total = statistics.median(totals)
    slowest = max(per_test, key=lambda name: statistics.median(per_test[name]))
    print(f"litmus catalogue: {len(files)} tests, {rounds} rounds (parse + run, one process)")
    print(f"  median round: {total * 1000:.1f} ms, {len(files) / total:,.0f} tests/s")
    print(f"  slowest test: {slowest}, median {statistics.median(per_test[slowest]) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
