"""Garbled input to every parser: a value or one MemattrError, never another exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memattr.errors import MemattrError
from memattr.platform.devicetree import parse_dtb
from memattr.platform.iomem import parse_iomem
from memattr.platform.kernel_files import parse_config, parse_kallsyms, parse_modules, parse_release
from memattr.platform.kmsg import parse_kmsg
from memattr.platform.lspci import parse_lspci
from memattr.platform.ptdump import parse_kernel_page_tables, parse_stage2_page_tables, parse_vmallocinfo
from memattr.platform.sysfs_pci import parse_resource

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "arm64-server"
TEXT_PARSERS = {
    "iomem": (parse_iomem, EXAMPLE / "proc/iomem"),
    "lspci": (parse_lspci, EXAMPLE / "lspci.txt"),
    "kmsg": (parse_kmsg, EXAMPLE / "dmesg.txt"),
    "resource": (parse_resource, EXAMPLE / "sys/bus/pci/devices/0000:01:00.0/resource"),
    "ptdump": (parse_kernel_page_tables, EXAMPLE / "sys/kernel/debug/kernel_page_tables"),
    "vmallocinfo": (parse_vmallocinfo, EXAMPLE / "proc/vmallocinfo"),
    "stage2": (parse_stage2_page_tables, None),
    "config": (parse_config, EXAMPLE / "config"),
    "modules": (parse_modules, EXAMPLE / "proc/modules"),
    "kallsyms": (parse_kallsyms, None),
    "release": (parse_release, EXAMPLE / "uname-r"),
}


def _mutations(seed: str) -> st.SearchStrategy[str]:
    lines = seed.splitlines() or [""]

    @st.composite
    def mutate(draw):
        out = list(lines)
        for _ in range(draw(st.integers(1, 4))):
            choice = draw(st.integers(0, 3))
            index = draw(st.integers(0, max(0, len(out) - 1)))
            if choice == 0 and out:
                out[index] = draw(st.text(max_size=40))
            elif choice == 1 and out:
                line = out[index]
                cut = draw(st.integers(0, len(line)))
                out[index] = line[:cut] + draw(st.text(max_size=8)) + line[cut:]
            elif choice == 2 and out:
                del out[index]
            else:
                out.insert(index, out[index] if out else "")
        return "\n".join(out)

    return mutate()


@pytest.mark.parametrize("name", sorted(TEXT_PARSERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_text_parsers_never_crash(name, data):
    parser, seed = TEXT_PARSERS[name]
    strategy = st.one_of(st.text(max_size=200), _mutations(seed.read_text())) if seed else st.text(max_size=200)
    text = data.draw(strategy)
    try:
        parser(text, source=f"{name}.txt")
    except MemattrError as error:
        assert "\n" not in str(error)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_dtb_parser_never_crashes(blob):
    for data in (blob, b"\xd0\x0d\xfe\xed" + blob):
        try:
            parse_dtb(data, "fuzz.dtb")
        except MemattrError:
            pass


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 500), st.integers(0, 255))
def test_dtb_bit_flips_never_crash(position, value):
    blob = bytearray((EXAMPLE / "sys/firmware/fdt").read_bytes())
    blob[position % len(blob)] = value
    try:
        parse_dtb(bytes(blob), "flipped.dtb")
    except MemattrError:
        pass
