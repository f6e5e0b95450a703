"""The HTML report opens in headless Chromium and renders each region's chain as a picture."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from memattr.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

# CI installs Chromium (.ci/run); a developer machine without it skips, CI never does.
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="Chromium not installed (CI installs it)")


def test_html_report_screenshot(tmp_path, capsys, monkeypatch):
    assert CHROMIUM, "CI must install Chromium for this test"
    monkeypatch.chdir(ROOT)
    report = tmp_path / "report.html"
    assert main(["audit", "examples/arm64-server", "--format", "html", "-o", str(report), "--fail-on", "none"]) == 0
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,2400", "--hide-scrollbars",
         f"--screenshot={shot}", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 2400)
    # A blank page compresses to almost nothing; the chains and tables do not.
    assert len(data) > 40_000
    saved = os.environ.get("MEMATTR_SCREENSHOT_DIR")
    if saved:
        Path(saved).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(saved) / "report.png")
