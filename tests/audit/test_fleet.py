"""`memattr audit --fleet`: many hosts in parallel, a summary, bad hosts reported, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from memattr.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from fleet_data import make_fleet  # noqa: E402


def test_fleet_json_summary(tmp_path, capsys):
    fleet = make_fleet(tmp_path / "fleet", 6, 8)
    code = main(["audit", "--fleet", str(fleet), "--jobs", "2", "--format", "json", "--fail-on", "none"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and len(data["hosts"]) == 6
    policies = {h["host"]: h["policy"] for h in data["hosts"]}
    assert policies["host0000"] == "device-forced" and policies["host0001"] == "allow-any-uncached"
    assert all(h["regions"] == 14 for h in data["hosts"])  # 8 functions: 2 x (1 + 3 + 1 + 2) memory BARs


def test_fleet_text_and_bad_host(tmp_path, capsys):
    fleet = make_fleet(tmp_path / "fleet", 3, 4)
    bad = fleet / "zz-bad"
    (bad / "proc").mkdir(parents=True)
    (bad / "proc/iomem").write_text("not iomem\n")
    code = main(["audit", "--fleet", str(fleet), "--jobs", "1"])
    captured = capsys.readouterr()
    assert code == 2
    assert "fleet audit: 4 hosts" in captured.out and "bad input" in captured.out
    assert "zz-bad: proc/iomem:1" in captured.err


def test_fleet_sarif_has_every_host(tmp_path, capsys):
    fleet = make_fleet(tmp_path / "fleet", 3, 4)
    main(["audit", "--fleet", str(fleet), "--format", "sarif", "--fail-on", "none"])
    data = json.loads(capsys.readouterr().out)
    hosts = {r["properties"]["host"] for r in data["runs"][0]["results"]}
    assert hosts == {"host0000", "host0001", "host0002"}


def test_fleet_usage_errors(tmp_path, capsys):
    assert main(["audit", "--fleet", str(tmp_path / "missing")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["audit", "--fleet", str(empty)]) == 2
    assert main(["audit", "examples/arm64-server", "--fleet", str(empty)]) == 2
