"""Small kernel text files used as policy evidence: config, /proc/modules, /proc/kallsyms, uname -r."""

from __future__ import annotations

import re

from memattr.errors import MemattrError

_CONFIG = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_NOT_SET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")
_MODULE = re.compile(r"^([A-Za-z0-9_]+) \d+ \d+ ")
_KALLSYMS = re.compile(r"^[0-9a-fA-F]+ [A-Za-z] ([^\s]+)(?:\s+\[[^\]]+\])?$")


def parse_config(text: str, source: str = "config") -> dict[str, str]:
    config = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or (line.startswith("#") and not _NOT_SET.match(line)):
            continue
        if (match := _NOT_SET.match(line)) is not None:
            config[match.group(1)] = "n"
            continue
        match = _CONFIG.match(line)
        if not match:
            raise MemattrError(f"not a kernel config line: {line[:60]!r}", source=source, line=number,
                               expected="CONFIG_NAME=value or '# CONFIG_NAME is not set'")
        config[match.group(1)] = match.group(2).strip('"')
    return config


def parse_modules(text: str, source: str = "/proc/modules") -> frozenset[str]:
    names = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        match = _MODULE.match(raw)
        if not match:
            raise MemattrError(f"not a /proc/modules line: {raw.strip()[:60]!r}", source=source, line=number,
                               expected="'NAME SIZE REFCOUNT DEPS STATE ADDRESS'")
        names.add(match.group(1))
    return frozenset(names)


def parse_kallsyms(text: str, source: str = "/proc/kallsyms") -> frozenset[str]:
    names = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _KALLSYMS.match(line)
        if not match:
            raise MemattrError(f"not a /proc/kallsyms line: {line[:60]!r}", source=source, line=number,
                               expected="'ADDRESS TYPE NAME [MODULE]'")
        names.add(match.group(1))
    return frozenset(names)


def parse_release(text: str, source: str = "uname-r") -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1 or not re.match(r"^\d+\.\d+", lines[0]):
        raise MemattrError("expected one kernel release line such as 6.8.0-49-generic", source=source, line=1,
                           expected="the output of uname -r")
    return lines[0]
