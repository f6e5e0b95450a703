"""``memattr litmus``: run litmus tests under the Arm model with memattr's endpoint extension."""

from __future__ import annotations

from dataclasses import replace

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from memattr.cli import app
from memattr.cli.common import PathArg, console, emit_json
from memattr.errors import MemattrError
from memattr.inputs import read_text
from memattr.litmus.ast import MODELLED, MODELLED_VARIANTS, LitmusTest
from memattr.litmus.dot import caption_for, to_dot
from memattr.litmus.parser import parse_file
from memattr.litmus.limits import DEFAULT_MAX_STEPS, DEFAULT_TIMEOUT, Budget
from memattr.litmus.model import ASSUMPTIONS, AXIOMS
from memattr.litmus.run import KINDS, Result, closest_candidate, run_test
from memattr.output import write_atomic


def _files(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            files.extend(sorted(path.rglob("*.litmus")))
        elif path.exists():
            files.append(path)
        else:
            raise MemattrError("no such file or directory", source=text, expected="a .litmus file or a directory")
    if not files:
        raise MemattrError("no .litmus files found", source=", ".join(paths))
    return files


def read_kinds(path: str) -> dict[str, str]:
    """herdtools7 kinds.txt: ``NAME KIND`` per line; '#' starts a comment."""
    kinds: dict[str, str] = {}
    for number, raw in enumerate(read_text(path, "kinds").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if len(words) != 2 or words[1] not in KINDS:
            raise MemattrError(f"bad kinds line {raw.strip()[:60]!r}", source=path, line=number,
                               expected=f"NAME KIND with KIND one of {', '.join(KINDS)}")
        kinds[words[0]] = words[1]
    return kinds


@app.command("litmus")
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True,
              help="JSON: {tests: [{name, status (ok|unknown|unsupported), reason, kind, observation, validated, "
                   "condition, states: [{REGISTER-or-LOCATION: value, satisfies}], witnesses: {positive, negative}, "
                   "executions, unconstrained: [why allowed], warnings, assumptions: [{name, text}], time_s, "
                   "expected and match with --kinds}], mismatches: [names]}")
@click.option("--kinds", "kinds_file", type=PathArg(exists=True, dir_okay=False),
              help="expected kinds (herdtools7 kinds.txt); exit 1 on any mismatch")
@click.option("--herd", "herd_format", is_flag=True, help="print herd7-style result blocks")
@click.option("--explain", is_flag=True,
              help="draw one execution (Graphviz dot; SVG with -o x.svg), threads side by side with the memory "
                   "types and the condition: for an Allowed test a witness and what does not order it, for a "
                   "Forbidden one the closest candidate and the axiom and cycle that rule it out")
@click.option("-o", "--output", type=PathArg(dir_okay=False), help="with --explain: write the dot or SVG here")
@click.option("--timeout", type=click.FloatRange(0.01, 86400), default=DEFAULT_TIMEOUT, show_default=True,
              help="seconds per test; a test that runs out is reported Unknown")
@click.option("--max-steps", type=click.IntRange(1, 10**12), default=DEFAULT_MAX_STEPS, show_default=True,
              help="candidate executions and partial candidates per test; past it the test is Unknown")
@click.option("--model", type=click.Choice(["device", "arm"]), default="device", show_default=True,
              help="device: the Arm model with memattr's device-memory extension (the tests' '(* memattr: ... *)' "
                   "memory types and peripherals); arm: the Arm model alone, as herd7's aarch64.cat, with every "
                   "location Normal memory and every thread a PE")
@click.option("--variant", "variants", metavar="NAME[,NAME]", multiple=True,
              help="herd7 variants every test runs with, as herd7 -variant (as if each test said Variant=NAME): "
                   + "; ".join(f"{name}: {effect}" for name, effect in MODELLED_VARIANTS.items()))
def litmus_cmd(paths: tuple[str, ...], as_json: bool, kinds_file: str | None, herd_format: bool, explain: bool,
               output: str | None, timeout: float, max_steps: int, model: str, variants: tuple[str, ...]) -> int:
    """Run AArch64 litmus tests (files or directories) and report their kinds.

    Exit status: 0 every test ran (and matched --kinds); 1 a kind differs from --kinds; 2 bad input
    (one test given alone that cannot be read or parsed, a bad --kinds file); 3 a test hit --timeout or
    --max-steps (its kind is Unknown, with the reason); 4 a test of a batch is unsupported (it cannot be
    read or parsed, or uses what memattr does not model): it is reported with the reason and the batch goes
    on.  The worst status wins.  A summary line counts each outcome.
    """
    files = _files(paths)
    extra_variants = frozenset(v.strip().lower() for text in variants for v in text.split(",") if v.strip())
    for variant in sorted(extra_variants - MODELLED):
        # herd7 refuses a tag it does not know (ParseTag: "tag X for -variant is wrong"); memattr refuses
        # the ones it does not model too, rather than run the tests without them.
        raise click.BadParameter(f"{variant!r} is not a variant memattr models (expected "
                                 f"{', '.join(MODELLED_VARIANTS)})", param_hint="--variant")

    def prepare(test: LitmusTest) -> LitmusTest:
        """The test as the options ask: --model arm reads the annotations as herd7 does (comments: no memory
        types or peripherals), --variant adds herd7 variants."""
        if model == "arm":
            test = replace(test, attrs={}, devices=frozenset())
        if extra_variants:
            test = replace(test, variants=test.variants | extra_variants)
        return test

    if explain:
        return _explain(files, output, Budget(timeout=timeout, max_steps=max_steps), prepare)
    kinds = read_kinds(kinds_file) if kinds_file else {}
    results: list[tuple[Path, Result]] = []
    with _Progress(len(files)) as progress:
        for path in files:
            name = path.stem  # until the test is parsed and names itself
            try:
                test = prepare(parse_file(path))
                name = test.name
                progress.test(name)
                results.append((path, run_test(test, budget=Budget(timeout=timeout, max_steps=max_steps,
                                                                  progress=progress.steps))))
            except MemattrError as error:  # unreadable, unparsable, or what the model does not handle
                if len(files) == 1:
                    raise
                results.append((path, Result(name, "", {}, 0, 0, 0.0, status="unsupported", reason=str(error))))
    mismatches = [r for _, r in results if r.name in kinds and kinds[r.name] != r.kind]
    missing = [r.name for _, r in results if kinds and r.name not in kinds]
    if as_json:
        payload = []
        for _, result in results:
            data = result.to_json()
            if kinds:
                data["expected"] = kinds.get(result.name)
                data["match"] = kinds.get(result.name) == result.kind if result.name in kinds else None
            payload.append(data)
        emit_json({"tests": payload, "mismatches": [r.name for r in mismatches]})
    elif herd_format:
        for _, result in results:
            click.echo(result.herd_text())
    else:
        table = Table(title=f"{len(results)} litmus tests")
        for column in ("test", "kind", "witnesses +/-", "expected",
                       "why allowed (device tests), or why unknown; what the verdict assumes"):
            table.add_column(column, overflow="fold")
        used: dict[str, None] = {}
        for _, result in results:
            expected = kinds.get(result.name, "")
            mark = "" if not expected or expected == result.kind else " MISMATCH"
            why = result.reason or "\n".join(result.reasons)
            if result.assumptions:
                used.update(dict.fromkeys(result.assumptions))
                why += ("\n" if why else "") + "assuming: " + ", ".join(result.assumptions)
            table.add_row(result.name, result.kind + mark, f"{result.positive}/{result.negative}", expected, why)
        out = console(min_width=120)
        out.print(table)
        if used:
            out.print("Assumptions (IMPLEMENTATION DEFINED or system properties the verdicts rest on; "
                      "docs/litmus.md):")
            for name in used:
                out.print(f"  {name}: {ASSUMPTIONS[name]}", highlight=False)
    if missing:
        click.echo(f"memattr: note: not in {kinds_file}: {', '.join(missing)}", err=True)
    unknown = [r for _, r in results if r.status == "unknown"]
    unsupported = [r for _, r in results if r.status == "unsupported"]
    for result in unknown:
        click.echo(f"memattr: {result.name}: Unknown: {result.reason}", err=True)
    for result in unsupported:
        click.echo(f"memattr: {result.name}: unsupported: {result.reason}", err=True)
    if not as_json:  # JSON carries them in each test's "warnings"
        for _, result in results:
            for warning in result.warnings:
                click.echo(f"memattr: {result.name}: warning: {warning}", err=True)
    ran = len(results) - len(unknown) - len(unsupported)
    click.echo(f"memattr: {len(results)} tests: {ran} ran, {len(mismatches)} differ from --kinds, "
               f"{len(unknown)} unknown (limits), {len(unsupported)} unsupported", err=True)
    if unsupported:
        return 4
    if unknown:
        return 3
    return 1 if mismatches else 0


class _Progress:
    """Progress on standard error, only once a run has taken a second and only on a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = -1
        self.name = ""
        self.started = time.monotonic()
        self.bar: Progress | None = None
        self.task = None
        self.enabled = sys.stderr.isatty()

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def test(self, name: str) -> None:
        self.done += 1
        self.name = name
        self._show(0)

    def steps(self, steps: int, elapsed: float) -> None:
        self._show(steps)

    def _show(self, steps: int) -> None:
        if not self.enabled or time.monotonic() - self.started < 1.0:
            return
        if self.bar is None:
            err = console()
            err.stderr = True
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("", total=self.total)
        self.bar.update(self.task, completed=self.done,  # type: ignore[arg-type]
                        description=f"{self.name}: {steps:,} candidate steps")


def _explain(files: list[Path], output: str | None, budget: Budget,
             prepare: Callable[[LitmusTest], LitmusTest]) -> int:
    if len(files) != 1:
        raise click.UsageError("--explain takes exactly one litmus file")
    test = prepare(parse_file(files[0]))
    result = run_test(test, budget=budget)
    if result.status != "ok":
        click.echo(f"memattr: {result.name}: Unknown: {result.reason}", err=True)
        return 3
    caption = caption_for({loc: test.location_attrs(loc) for loc in test.memory_locations}, result.condition)
    if result.assumptions:
        caption.append("assuming: " + ", ".join(result.assumptions))
    if result.witness is not None:
        caption.append(f"{result.kind}: an execution the model allows that satisfies the condition")
        caption += [f"why allowed: {reason}" for reason in result.reasons]
        dot = to_dot(test.name, result.witness[1], caption=caption)
    else:
        closest = closest_candidate(test, Budget(timeout=budget.timeout, max_steps=budget.max_steps))
        if closest is None:
            raise MemattrError(f"{test.name}: no candidate execution satisfies the condition ({result.kind}), not "
                               "even one the model forbids; nothing to draw", source=str(files[0]))
        events = closest.execution.events
        caption.append(f"{result.kind}: the closest candidate that satisfies the condition breaks "
                       + ", ".join(name for name, _ in closest.broken))
        for name, cycle in closest.broken:
            axiom = next(a for a in AXIOMS if a.name == name)
            steps = " -> ".join(f"{chr(97 + n % 26)}: {events[n].label()}" for n in cycle)
            caption.append(f"{axiom.source}: cycle {steps}" + (" -> back" if len(cycle) > 2 else ""))
        dot = to_dot(test.name, closest.relations, caption=caption, cycle=closest.broken[0][1])
    if output and output.endswith(".svg"):
        if not shutil.which("dot"):
            raise MemattrError("Graphviz 'dot' is not installed", expected="apt-get install graphviz, or -o FILE.dot")
        svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True).stdout
        write_atomic(output, svg)
    elif output:
        write_atomic(output, dot)
    else:
        click.echo(dot, nl=False)
    return 0
