"""Fleet audit throughput: inventories per minute for 100-function hosts, 2 processes (goal >= 2,000/min).

Prints figures; asserts nothing.  The fleet is generated in a temporary directory.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet_data import make_fleet  # noqa: E402

from memattr.audit.run import AuditRequest, audit_fleet, fleet_hosts  # noqa: E402


def main(hosts: int = 200, functions: int = 100) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fleet = make_fleet(Path(tmp) / "fleet", hosts, functions)
        paths = fleet_hosts(fleet)
        print(f"fleet: {hosts} hosts x {functions} PCI functions")
        for jobs in (1, 2):
            start = time.perf_counter()
            rows = audit_fleet(paths, AuditRequest(), jobs)
            elapsed = time.perf_counter() - start
            assert all(row.error is None for row in rows), [row.error for row in rows if row.error][:3]
            regions = sum(row.summary()["regions"] for row in rows)
            print(f"  jobs={jobs}: {elapsed:.2f} s, {hosts / elapsed * 60:,.0f} inventories/min, "
                  f"{regions / elapsed:,.0f} regions/s")
        print("  goal: >= 2,000 inventories/min with 2 jobs")


if __name__ == "__main__":
    main()
