"""One golden output per bundled host, per format; regenerate with MEMATTR_REGEN_GOLDEN=1 and review."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from memattr.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
GOLDEN = ROOT / "tests" / "golden"


def _run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


@pytest.mark.parametrize("host", EXAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_golden(capsys, monkeypatch, host, fmt):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "120")
    code, out = _run(capsys, "audit", str(host.relative_to(ROOT)), "--format", fmt, "--fail-on", "none")
    assert code == 0
    path = GOLDEN / host.name / f"audit.{fmt}"
    if os.environ.get("MEMATTR_REGEN_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(out)
    expected = path.read_text()
    if fmt == "text":
        assert out == expected
    else:
        assert json.loads(out) == json.loads(expected)


def test_fail_on_sets_the_exit_code(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert _run(capsys, "audit", "examples/arm64-server", "--format", "json", "--fail-on", "warning")[0] == 1
    assert _run(capsys, "audit", "examples/arm64-server", "--format", "json", "--fail-on", "error")[0] == 0
    assert _run(capsys, "audit", "examples/arm64-server", "--format", "json", "--guest-map", "wc",
                "--fail-on", "error")[0] == 1


def test_bad_input_writes_nothing(capsys, tmp_path):
    target = tmp_path / "report.json"
    bad = tmp_path / "host"
    (bad / "proc").mkdir(parents=True)
    (bad / "proc/iomem").write_text("garbage\n")
    code = main(["audit", str(bad), "--format", "json", "-o", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and not target.exists() and list(tmp_path.iterdir()) == [bad]
    assert err.count("\n") == 1 and "proc/iomem:1" in err


def test_explicit_files_and_kernel(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out = _run(capsys, "audit", "--sysfs", "examples/arm64-server/sys/bus/pci/devices",
                     "--lspci", "examples/arm64-server/lspci.txt", "--kernel", "6.6", "--no-fwb",
                     "--guest-map", "wc", "--format", "json", "--fail-on", "none")
    data = json.loads(out)
    assert code == 0 and data["policy"] == "device-forced"
    assert {r["effective"]["memory_type"] for r in data["regions"]} == {"Device-nGnRE"}


def test_rules_file(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    rules = tmp_path / "rules.toml"
    rules.write_text("[rules.MA002]\nenabled = false\n[rules.MA007]\nenabled = false\n"
                     "[rules.MA008]\nenabled = false\n")
    code, _ = _run(capsys, "audit", "examples/arm64-server", "--rules", str(rules), "--fail-on", "warning",
                   "--format", "json")
    assert code == 0
