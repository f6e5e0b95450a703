"""memattr against herd7's verdicts on a diy7-generated set (litmus/diy/README.md).

The tests are regenerated with diy7 when the herdtools7 build is beside the checkout (CI has it);
herd7's verdicts are committed facts.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from memattr.litmus.parser import parse_file
from memattr.litmus.run import run_test

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT.parent / "shared" / "tools" / "herdtools7"
SAFE = ("Rfe Fre Wse PodWW PodWR PodRW PodRR DpAddrdR DpAddrdW DpDatadW DpCtrldW DpCtrlIsbdR DMB.SYdWW DMB.SYdRR "
        "DMB.STdWW PosRR Rfi Fri Wsi Coi")


def _kinds(name: str) -> dict[str, str]:
    lines = (ROOT / "litmus/diy" / name).read_text().splitlines()
    return dict(line.split() for line in lines if line.strip() and not line.startswith("#"))


# Acquire/release, atomics, Pos/Coi/Rfi/Fri, DMB.LD/ST and ctrl+ISB edges (litmus/diy/README.md).
ACQREL = ("Rfe Fre Wse PodWW PodWR PodRW PodRR PodWWPL PodRRAP PodRWAP PodWRLA RfeLA DpAddrdR DpAddrdW DpDatadW "
          "DpCtrldW DpCtrlIsbdR DMB.SYdWW DMB.SYdRR DMB.STdWW DMB.LDdRR DMB.LDdRW PosRR PosWR Rfi Fri Wsi Coi Amo.Swp "
          "Amo.Cas Amo.LdAdd")
FOUR = "Rfe Fre Wse PodWW PodRR PodRW DpAddrdR DpDatadW DMB.SYdWW DMB.SYdRR DMB.STdWW DMB.LDdRR"
FOUR8 = FOUR.replace("PodRW", "PodRW PodWR") + " PodWWPL PodRRAP"

SETS = [
    pytest.param("kinds-2thread.txt", ["-nprocs", "2", "-size", "5", "-safe", SAFE], 314, id="2thread"),
    pytest.param("kinds-3thread.txt", ["-nprocs", "3", "-size", "6", "-safe", SAFE + " DMB.LDdRR DMB.LDdRW"], 1080,
                 id="3thread", marks=pytest.mark.slow),
    pytest.param("kinds-2thread-acqrel-atomics.txt", ["-nprocs", "2", "-size", "5", "-safe", ACQREL], 2418,
                 id="2thread-acqrel-atomics", marks=pytest.mark.slow),
    pytest.param("kinds-3thread-acqrel-atomics.txt", ["-nprocs", "3", "-size", "5", "-safe", ACQREL], 374,
                 id="3thread-acqrel-atomics"),
    pytest.param("kinds-4thread.txt", ["-nprocs", "4", "-size", "6", "-safe", FOUR], 21, id="4thread"),
    pytest.param("kinds-4thread-size8.txt", ["-nprocs", "4", "-size", "8", "-safe", FOUR8], 3899, id="4thread-size8",
                 marks=pytest.mark.slow),
]


@pytest.mark.skipif(not (TOOLS / "bin/diy7").exists(), reason="herdtools7 build not beside the checkout")
@pytest.mark.parametrize(("kinds_file", "args", "count"), SETS)
def test_every_diy_test_has_herd7s_verdict(tmp_path, kinds_file, args, count):
    subprocess.run([str(TOOLS / "bin/diy7"), "-set-libdir", str(TOOLS / "diy-libdir"), "-arch", "AArch64",
                    "-eprocs", "-num", "false", *args, "-o", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    kinds = _kinds(kinds_file)
    files = sorted(tmp_path.glob("*.litmus"))
    assert len(files) == len(kinds) == count
    differ = {}
    for path in files:
        result = run_test(parse_file(path), keep_witness=False)
        if kinds[result.name] != result.kind:
            differ[result.name] = (kinds[result.name], result.kind)
    assert differ == {}
