"""``memattr vectors`` and ``memattr conformance``: the conformance kit for S1+S2 implementations."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click
from rich.table import Table

from memattr.cli import app
from memattr.cli.common import PathArg, console
from memattr.errors import MemattrError
from memattr.output import to_json, write_atomic

FEATURE_HELP = "feature sets: 'none', 'XS', 'XS+MTE2', ... or 'all' (repeat the option for several)"


def _feature_sets(values: tuple[str, ...], default: str) -> tuple[frozenset[str], ...]:
    from memattr.conformance.columns import FEATURE_SETS, parse_features_text

    chosen: list[frozenset[str]] = []
    for value in values or (default,):
        if value == "all":
            chosen.extend(FEATURE_SETS)
            continue
        try:
            chosen.append(frozenset() if value == "none" else parse_features_text(value.upper()))
        except ValueError as error:
            raise click.BadParameter(f"{error}; {FEATURE_HELP}", param_hint="--features") from None
    return tuple(dict.fromkeys(chosen))


def _bits(value: str) -> tuple[bool, ...]:
    return {"0": (False,), "1": (True,), "both": (False, True)}[value]


BIT = click.Choice(["0", "1", "both"])


@app.command("vectors")
@click.option("-o", "--output", required=True, type=PathArg(),
              help="a directory for csv/jsonl (one .gz file per feature set), a file for c ('-' for stdout)")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "c"]), default="csv", show_default=True)
@click.option("--features", "features", multiple=True, help=FEATURE_HELP + " (default all)")
@click.option("--fwb", type=BIT, default="both", show_default=True, help="HCR_EL2.FWB")
@click.option("--hcr-cd", type=BIT, default="both", show_default=True, help="HCR_EL2.CD")
@click.option("--hcr-dc", type=BIT, default="both", show_default=True, help="HCR_EL2.DC")
@click.option("--sctlr-c", type=BIT, default="both", show_default=True, help="SCTLR_EL1.C")
@click.option("--jobs", type=click.IntRange(1, 64), default=os.cpu_count() or 1, show_default=True,
              help="processes (one feature set each)")
@click.option("--level", type=click.IntRange(0, 9), default=1, show_default=True, help="gzip level")
def vectors_cmd(output: str, fmt: str, features: tuple[str, ...], fwb: str, hcr_cd: str, hcr_dc: str, sctlr_c: str,
                jobs: int, level: int) -> None:
    """The ASL-exact S1+S2 results for the whole input space (columns: docs/conformance.md).

    The whole space is 9,437,184 rows (256 stage-1 bytes x 16 stage-2 values x FWB x 8 feature sets x
    3 x 3 shareabilities x FnXS x HCR_EL2.CD x HCR_EL2.DC x SCTLR_EL1.C), written as one compressed
    file per feature set; choose a part with the options.  The C header is for a part that fits a
    test: one feature set and fixed control bits, e.g. --format c --features none --fwb 1 --hcr-cd 0
    --hcr-dc 0 --sctlr-c 1 (73,728 rows: 256 x 16 x 9 shareability pairs x FnXS).
    """
    from memattr.conformance.vectors import BlockEngine, blocks, c_header, write_feature_file

    sets = _feature_sets(features, "all")
    chosen = blocks(features=sets, fwb=_bits(fwb), hcr_cd=_bits(hcr_cd), hcr_dc=_bits(hcr_dc),
                    sctlr_c=tuple(reversed(_bits(sctlr_c))))
    if fmt == "c":
        if len(chosen) > 4:
            raise click.UsageError(f"a C header of {len(chosen)} blocks ({len(chosen) * 73728:,} rows) is too large "
                                   "to compile; choose one feature set and fix at least two control bits")
        engines: dict[tuple[frozenset[str], bool, bool], BlockEngine] = {}

        def rows():  # type: ignore[no-untyped-def]
            for block in chosen:
                engine = engines.setdefault((block.features, block.fwb, block.hcr_cd),
                                            BlockEngine(block.features, block.fwb, block.hcr_cd))
                yield from engine.rows(block)

        write_atomic(output, "".join(c_header(rows())))
        return
    directory = Path(output)
    if directory.exists() and not directory.is_dir():
        raise MemattrError("exists and is not a directory", source=output, expected="a directory for the .gz files")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MemattrError(f"cannot create: {error.strerror}", source=output) from None
    work = [(str(directory), feature_set, [b for b in chosen if b.features == feature_set], fmt, level)
            for feature_set in sets]
    total = 0
    if jobs == 1 or len(work) == 1:
        results = [write_feature_file(item) for item in work]
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool:
            results = list(pool.map(write_feature_file, work))
    out = console()
    for path, count in results:
        total += count
        out.print(f"{path}: {count:,} rows")
    out.print(f"{total:,} rows in {len(results)} files")


@app.command("conformance")
@click.argument("implementation", required=False, type=PathArg())
@click.option("--profile", type=click.Choice(["qemu", "kvm-at"]), help="a known implementation, described from its source")
@click.option("--features", "features", multiple=True,
              help=FEATURE_HELP + " (with --profile; default none and XS+MTE2+MTE_PERM)")
@click.option("--all-shareability", is_flag=True, help="with --profile: all 9 shareability pairs (default NSH/NSH, ISH/ISH)")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("-o", "--output", type=PathArg(dir_okay=False), help="write the report to FILE")
def conformance_cmd(implementation: str | None, profile: str | None, features: tuple[str, ...],
                    all_shareability: bool, fmt: str, output: str | None) -> int:
    """Compare an implementation's S1+S2 results (IMPLEMENTATION.csv, or --profile) with the ASL.

    The CSV has memattr's input columns (s1 and s2 required; the others default to FWB 0, no
    features, ISH/ISH, FnXS 0, HCR_EL2.CD/DC 0, SCTLR_EL1.C 1) and any of its output columns, or
    attr (a MAIR-format byte as PAR_EL1.ATTR reports it) with shareability.  Exit status 1 when a
    difference is not one the architecture permits.
    """
    from memattr.conformance.compare import (
        DEFAULT_PROFILE_SHAREABILITY,
        all_shareability_pairs,
        compare_implementation,
        compare_profile,
        parse_implementation,
        render_markdown,
        render_text_rows,
    )
    from memattr.conformance.profiles import PROFILES
    from memattr.inputs import read_text

    if (implementation is None) == (profile is None):
        raise click.UsageError("give an IMPLEMENTATION.csv or --profile NAME (one of them)")
    if profile:
        sets = _feature_sets(features, "none") if features else None
        pairs = all_shareability_pairs() if all_shareability else DEFAULT_PROFILE_SHAREABILITY
        report = (compare_profile(PROFILES[profile], sets, pairs) if sets is not None else
                  compare_profile(PROFILES[profile], shareability=pairs))
    else:
        if features or all_shareability:
            raise click.UsageError("--features and --all-shareability go with --profile; a CSV chooses its own rows")
        assert implementation is not None
        compared, rows = parse_implementation(read_text(implementation, "vectors"), implementation)
        report = compare_implementation(implementation, compared, rows)
    if fmt == "json":
        text = to_json(report.to_json())
    elif fmt == "markdown":
        text = render_markdown(report) + "\n"
    else:
        table = Table(title=f"{report.implementation}: {report.rows:,} cells, {report.differences:,} differ, "
                            f"{report.real_differences:,} not permitted")
        for column in ("class", "cells", "verdict", "examples and the deciding ASL"):
            table.add_column(column, overflow="fold")
        for row in render_text_rows(report):
            table.add_row(*row)
        capture = console(min_width=140)
        with capture.capture() as captured:
            capture.print(table)
        text = captured.get()
    if output:
        write_atomic(output, text)
    else:
        click.echo(text, nl=False)
    return 1 if report.real_differences else 0
