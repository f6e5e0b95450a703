"""The console examples in README.md run as tests: `$ memattr ... | jq -r PATH` then the expected line."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from memattr.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
EXAMPLES = re.findall(r"^\$ (memattr .+?)\n(.+?)$", README, re.M)


def _jq(data, path: str):
    for part in re.findall(r"\.([A-Za-z_]\w*)|\[(\d+)\]", path.strip("'")):
        key, index = part
        data = data[key] if key else data[int(index)]
    return data


@pytest.mark.parametrize("command,expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(command, expected, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    program, _, jq = command.partition(" | jq -r ")
    args = shlex.split(program)[1:]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert str(_jq(json.loads(out), jq)) == expected


def test_readme_has_examples():
    assert len(EXAMPLES) >= 3
