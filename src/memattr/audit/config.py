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
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise MemattrError(f"cannot read config: {error.strerror}", source=source) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # Python 3.11's TOMLDecodeError carries the position only in its message: "... (at line N, column M)".
        found = re.search(r"\(at line (\d+)", str(error))
        line = int(found.group(1)) if found else None
        message = str(error).split(" (at ")[0]
        raise MemattrError(f"invalid TOML: {message}", source=source, line=line,
                           expected="[rules.ID] tables with enabled/severity keys") from None
    unknown_top = set(data) - {"rules"}
    if unknown_top:
        raise MemattrError(f"unknown section(s) {', '.join(sorted(unknown_top))}", source=source,
                           line=_line_of(text, sorted(unknown_top)[0]), expected="only [rules.ID] tables")
    disabled: set[str] = set()
    severities: dict[str, Severity] = {}
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise MemattrError("'rules' must be a table", source=source, line=_line_of(text, "rules"))
    for key, settings in rules.items():
        try:
            rule = rule_by_id(key)
        except KeyError:
            raise MemattrError(f"unknown rule {key!r}", source=source, line=_line_of(text, key),
                               expected=f"one of {', '.join(r.id for r in RULES)}") from None
        if not isinstance(settings, dict):
            raise MemattrError(f"rules.{key} must be a table", source=source, line=_line_of(text, key))
        for name, value in settings.items():
            if name == "enabled":
                if not isinstance(value, bool):
                    raise MemattrError(f"rules.{key}.enabled must be true or false", source=source,
                                       line=_line_of(text, "enabled"))
                if not value:
                    disabled.add(rule.id)
            elif name == "severity":
                try:
                    severities[rule.id] = Severity.parse(str(value))
                except ValueError as error:
                    raise MemattrError(str(error), source=source, line=_line_of(text, "severity")) from None
            else:
                raise MemattrError(f"unknown setting rules.{key}.{name}", source=source,
                                   line=_line_of(text, name), expected="enabled or severity")
    return RuleConfig(frozenset(disabled), severities)


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None
