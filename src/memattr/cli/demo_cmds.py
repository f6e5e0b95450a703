"""``memattr demo``: the README's main job."""

from __future__ import annotations

import click

from memattr.arch.combine import Controls, combine
from memattr.cli import app
from memattr.cli.arch_cmds import print_combination
from memattr.cli.common import console

# The classic case of the Dec 2023 thread: the guest maps a BAR with ioremap_wc (MAIR 0x44,
# Normal-NC) while KVM's stage 2 says Device-nGnRE (MemAttr 0b0001), then with VM_ALLOW_ANY_UNCACHED
# (stage 2 Normal-NC, 0b0101), then the same with FWB (0b0101 means "NC unless stage 1 is Device").
CASES = (
    ("guest ioremap_wc over KVM's forced Device-nGnRE", 0x44, 0b0001, False),
    ("guest ioremap_wc over stage-2 Normal-NC (VM_ALLOW_ANY_UNCACHED)", 0x44, 0b0101, False),
    ("guest ioremap (Device-nGnRE) over stage-2 Normal-NC", 0x04, 0b0101, False),
    ("guest ioremap_wc over FWB stage-2 Normal-NC", 0x44, 0b0101, True),
)


@app.command("demo")
def demo_cmd() -> None:
    """Explain the classic cases: a guest's write-combining BAR mapping under each stage-2 choice."""
    out = console()
    for title, s1, s2, fwb in CASES:
        out.rule(title)
        print_combination(combine(s1, s2, controls=Controls(fwb=fwb)), f"S1 {s1:#04x} + S2 {s2:#06b}" + (" FWB" if fwb else ""))
    click.echo()
