"""The audit's rule configuration file: disable rules and change their severities.

Format (TOML)::

    [rules.MA004]
    enabled = false

    [rules.MA002]
    severity = "error"

Rules may be named by ID (MA002) or name (mismatched-attribute-aliases).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from memattr.audit.rules import RULES, Severity, rule_by_id
from memattr.errors import MemattrError
from memattr.inputs import read_text


@dataclass(frozen=True, slots=True)
class RuleConfig:
    disabled: frozenset[str] = frozenset()
    severities: dict[str, Severity] = field(default_factory=dict)

    def enabled(self, rule_id: str) -> bool:
        return rule_id not in self.disabled

    def severity(self, rule_id: str, default: Severity) -> Severity:
        return self.severities.get(rule_id, default)


def load_config(path: str | Path) -> RuleConfig:
    """Read a rule configuration; every problem is a MemattrError naming the file and line."""
    source = str(path)
    text = read_text(path, "rules")
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise MemattrError("arrays or tables nested too deeply", source=source,
                           expected="[rules.ID] tables with enabled/severity keys") from None
    except tomllib.TOMLDecodeError as error:
        # Python 3.11's TOMLDecodeError carries the position only in its message: "... (at line N, column M)".
        found = re.search(r"\(at line (\d+)", str(error))
        line = int(found.group(1)) if found else None
        message = str(error).split(" (at ")[0]
        raise MemattrError(f"invalid TOML: {message}", source=source, line=line,
                           expected="[rules.ID] tables with enabled/severity keys") from None
    except ValueError:  # tomllib lets int()'s digit limit through as a bare ValueError
        long_number = re.search(r"[0-9_]{4000,}", text)
        line = text.count("\n", 0, long_number.start()) + 1 if long_number else None
        raise MemattrError("a number too long to read", source=source, line=line,
                           expected="[rules.ID] tables with enabled/severity keys") from None
    where: dict[tuple[str, ...], int] = {}

    def line_of(*key: str) -> int | None:
        # The line that defines this key, else its nearest enclosing table (worked out only on error).
        if not where:
            where.update(key_lines(text))
        for depth in range(len(key), 0, -1):
            if key[:depth] in where:
                return where[key[:depth]]
        return None

    unknown_top = set(data) - {"rules"}
    if unknown_top:
        first = sorted(unknown_top, key=lambda k: line_of(k) or 0)[0]
        raise MemattrError(f"unknown section {first!r}", source=source, line=line_of(first),
                           expected="only [rules.ID] tables")
    disabled: set[str] = set()
    severities: dict[str, Severity] = {}
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise MemattrError("'rules' must be a table", source=source, line=line_of("rules"))
    for key, settings in rules.items():
        try:
            rule = rule_by_id(key)
        except KeyError:
            raise MemattrError(f"unknown rule {key!r}", source=source, line=line_of("rules", key),
                               expected=f"one of {', '.join(r.id for r in RULES)}") from None
        if not isinstance(settings, dict):
            raise MemattrError(f"rules.{key} must be a table", source=source, line=line_of("rules", key))
        for name, value in settings.items():
            line = line_of("rules", key, name)
            if name == "enabled":
                if not isinstance(value, bool):
                    raise MemattrError(f"rules.{key}.enabled must be true or false", source=source, line=line)
                if not value:
                    disabled.add(rule.id)
            elif name == "severity":
                try:
                    severities[rule.id] = Severity.parse(str(value))
                except ValueError as error:
                    raise MemattrError(str(error), source=source, line=line) from None
            else:
                raise MemattrError(f"unknown setting rules.{key}.{name}", source=source, line=line,
                                   expected="enabled or severity")
    return RuleConfig(frozenset(disabled), severities)


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line defining each key path of a (valid) TOML document: headers, dotted keys, inline tables.

    tomllib gives positions only for syntax errors; this finds the line of a key that is valid TOML
    but wrong for memattr.  Multi-line strings and arrays are skipped; the first definition wins.
    """
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    closing: str | None = None  # the text that ends a multi-line string, or "]" for an array
    depth = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if closing is not None:
            if closing == "]":
                depth += _brackets(raw)
                if depth <= 0:
                    closing = None
            elif closing in raw:
                closing = None
            continue
        line = _strip_comment(raw).strip()
        if line.startswith("["):
            double = line.startswith("[[")
            inner = line[2:line.find("]]")] if double else line[1:line.find("]")]
            table = _key_path(inner)
            for size in range(1, len(table) + 1):
                lines.setdefault(table[:size], number)
            continue
        split = _split_assignment(line)
        if split is None:
            continue
        key_text, value = split
        key = table + _key_path(key_text)
        for size in range(len(table) + 1, len(key) + 1):
            lines.setdefault(key[:size], number)
        value = value.strip()
        if value.startswith("{"):
            inner_keys = [re.search(r"([A-Za-z0-9_\-\"'.]+)\s*$", value[max(0, at - 200):at])
                          for at in (m.start() for m in re.finditer("=", value))]
            for inner_key in (m.group(1) for m in inner_keys if m):
                path = key + _key_path(inner_key)
                for size in range(len(key) + 1, len(path) + 1):
                    lines.setdefault(path[:size], number)
        for quote in ('"""', "'''"):
            if value.startswith(quote) and value.count(quote) == 1:
                closing = quote
        if closing is None and value.startswith("["):
            depth = _brackets(value)
            if depth > 0:
                closing = "]"
    return lines


def _outside_quotes(line: str, char: str) -> int | None:
    """The index of the first ``char`` that is not inside a quoted string, or None."""
    quote = None
    for index, current in enumerate(line):
        if quote:
            if current == quote:
                quote = None
        elif current in "\"'":
            quote = current
        elif current == char:
            return index
    return None


def _strip_comment(line: str) -> str:
    index = _outside_quotes(line, "#")
    return line if index is None else line[:index]


def _split_assignment(line: str) -> tuple[str, str] | None:
    index = _outside_quotes(line, "=")
    return None if index is None else (line[:index], line[index + 1:])


def _key_path(text: str) -> tuple[str, ...]:
    parts, current, quote = [], "", None
    for char in text:
        if quote:
            if char == quote:
                quote = None
            else:
                current += char
        elif char in "\"'":
            quote = char
        elif char == ".":
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return tuple(parts)


def _brackets(text: str) -> int:
    return _strip_comment(text).count("[") - _strip_comment(text).count("]")
