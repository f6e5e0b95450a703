"""``memattr demo``: the README's main job, an audit of the bundled example host."""

from __future__ import annotations

from pathlib import Path

import click

from memattr.arch.combine import Controls, combine
from memattr.audit.reports import render
from memattr.audit.run import AuditRequest, audit_host
from memattr.cli import app
from memattr.cli.arch_cmds import print_combination
from memattr.cli.common import PathArg, console

DEFAULT_HOST = Path("examples") / "arm64-server"


@app.command("demo")
@click.argument("host", required=False, type=PathArg(), default=str(DEFAULT_HOST))
def demo_cmd(host: str) -> None:
    """Audit the bundled example host, then explain the classic case of the 2023 discussion."""
    out = console(min_width=120)
    out.rule(f"memattr audit {host}")
    result = audit_host(host, AuditRequest())
    out.print(render(result, "text", width=max(out.width, 120)), end="")
    out.rule("why a guest's ioremap_wc of a BAR was Device-nGnRE before v6.9")
    print_combination(combine(0x44, 0b0001, controls=Controls()), "S1 0x44 (ioremap_wc) + S2 0b0001 (KVM device)")
    out.print("Next: memattr trace --kernel 6.9 --region pci-bar-prefetchable --guest ioremap_wc; "
              "memattr policies compare; memattr audit --help")
