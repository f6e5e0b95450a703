"""Every fact of the Linux model, with its citation and status, for reviewers to audit the model itself.

Facts are not written here: this module walks the tables that hold them (layouts, MAIR bytes,
stage-2 encodings, mapping calls, drivers, policies, pKVM, evidence markers) and lists each row as a
:class:`Fact`.  A status says how far to trust it:

- ``confirmed``: read in the kernel source at the versions given (the citation names file, function
  and commit);
- ``inferred``: the behaviour is read or follows from what was read, but some part (usually the
  first release of a commit) was not checked; the note says which part and why it is believed;
- ``proposal``: a what-if from the December 2023 discussion or an unmerged patch series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memattr.linux import chain, evidence, kvm, layout

STATUSES = ("confirmed", "inferred", "proposal")


@dataclass(frozen=True, slots=True)
class Fact:
    id: str
    area: str
    statement: str
    since: str | None
    until: str | None
    source: str
    status: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "area": self.area, "statement": self.statement, "since": self.since,
                "until": self.until, "source": self.source, "status": self.status, "note": self.note}


def _layout_facts() -> list[Fact]:
    facts = []
    for index, row in enumerate(layout.LAYOUTS):
        until = layout.LAYOUTS[index + 1].since if index + 1 < len(layout.LAYOUTS) else None
        indexes = ", ".join(f"{name}={number}" for name, number in sorted(row.indexes.items(), key=lambda i: i[1]))
        facts.append(Fact(
            f"layout.{row.since}", "MAIR layout",
            f"MT_* indexes {indexes}; MAIR_EL1 {layout.mair_el1(row.since):#018x} (without MTE)",
            str(row.since), _before(until), row.source, "confirmed",
            "v5.14 layout read again in the asm/memory.h of the v7.0 merge window (unchanged)"
            if row.since == layout.LAYOUTS[-1].since else ""))
    for name, byte in layout.MAIR_ATTR.items():
        until = layout.MAIR_ATTR_UNTIL.get(name)
        facts.append(Fact(f"mair.{name}", "MAIR byte", f"MAIR_ATTR_{name} = {byte:#04x}", str(layout.OLDEST), until,
                          "arch/arm64/include/asm/sysreg.h MAIR_ATTR_*", "confirmed",
                          "removed with MT_DEVICE_GRE/MT_NORMAL_WT in v5.14" if until else ""))
    return facts


def _before(version: Any) -> str | None:
    """The last release before ``version`` (the 'until' of a row that a later row replaces)."""
    if version is None:
        return None
    major, minor = version.major, version.minor
    if minor == 0:
        return {7: "6.19", 6: "5.19"}.get(major, f"{major - 1}.x")
    return f"{major}.{minor - 1}"


def _s2_facts() -> list[Fact]:
    facts = []
    since = {"KVM_PGTABLE_PROT_NORMAL_NC": "6.9", "KVM_PGTABLE_S2_AS_S1": "7.0"}
    for prot, values in kvm.S2_ENCODINGS.items():
        for fwb, memattr in values.items():
            facts.append(Fact(
                f"s2.{prot}.{'fwb' if fwb else 'nofwb'}", "stage-2 encoding",
                f"{prot} with FWB={int(fwb)} is MemAttr {memattr:#06b}", since.get(prot, str(layout.OLDEST)), None,
                kvm.S2_ENCODING_SOURCE, "confirmed"))
    facts.append(Fact("s2.shareability", "stage-2 encoding",
                      f"every KVM stage-2 leaf is {kvm.S2_SHAREABILITY} (KVM_PTE_LEAF_ATTR_LO_S2_SH_IS)",
                      str(layout.OLDEST), None, "arch/arm64/kvm/hyp/pgtable.c stage2_set_prot_attr()", "inferred",
                      "read in v6.x; with LPA2 the SH field moves to VTCR_EL2.SH0 (not checked in the code)"))
    for index, (since_version, text, status, note) in enumerate(kvm.STAGE2_FAULT_PATH):
        following = kvm.STAGE2_FAULT_PATH[index + 1][0] if index + 1 < len(kvm.STAGE2_FAULT_PATH) else None
        facts.append(Fact(f"s2.fault-path.{since_version}", "stage-2 fault path", text, str(since_version),
                          _before(following), text.split(" ", 1)[0], status, note))
    return facts


def _mapping_facts() -> list[Fact]:
    return [Fact(f"call.{call.name}", "mapping call", f"{call.name} selects {call.mt}", str(call.since), None,
                 call.source, call.status, call.note) for call in layout.MAPPING_CALLS]


def _driver_facts() -> list[Fact]:
    facts = []
    for driver in chain.DRIVERS:
        flags = ", ".join(f"{flag}" + (f" (v{since})" if since and since != driver.since else "")
                          for flag, since in driver.flags)
        alias = f"; host alias {driver.host_alias}" if driver.host_alias else ""
        facts.append(Fact(f"driver.{driver.name}", "VMM driver", f"{driver.name} mmaps with {driver.pgprot}, VMA "
                          f"flags {flags}{alias}", str(driver.since) if driver.since else None, None,
                          " | ".join(f"v{since}: {text}" for since, text in driver.sources), driver.status,
                          driver.note))
    return facts


def _policy_facts() -> list[Fact]:
    return [Fact(f"policy.{p.name}", "KVM policy", p.title, str(p.since) if p.since else None,
                 str(p.until) if p.until else None, p.source, p.status, p.rationale) for p in kvm.POLICIES]


def _pkvm_facts() -> list[Fact]:
    facts = []
    for index, row in enumerate(kvm.PKVM_HOST_STAGE2):
        following = kvm.PKVM_HOST_STAGE2[index + 1].since if index + 1 < len(kvm.PKVM_HOST_STAGE2) else None
        facts.append(Fact(
            f"pkvm.host-stage2.{row.since}", "pKVM", f"host MMIO at stage 2: {row.prot}, MemAttr "
            f"{row.memattr[False]:#06b} without FWB" + (f", {row.memattr[True]:#06b} with FWB" if row.fwb_used else
                                                        " (FWB not used)"),
            str(row.since), _before(following), row.source, "confirmed"))
    return facts


def _evidence_facts() -> list[Fact]:
    facts = [Fact(f"marker.{m.name}", "backport evidence", f"{m.name} ({', '.join(m.config + m.modules + m.symbols)}) "
                  f"proves {m.proves}", None, None, m.source, "confirmed") for m in evidence.MARKERS]
    lines = (("fwb", evidence.FWB_LINE, "ARM64_HAS_STAGE2_FWB", "confirmed", "seen in real boot logs"),
             ("dic", evidence.DIC_LINE, "ARM64_HAS_CACHE_DIC", "confirmed", "seen in real boot logs"),
             ("mte", evidence.MTE_LINE, "ARM64_MTE", "inferred", "the desc of the MTE capability; not re-read"))
    for key, text, cap, status, note in lines:
        facts.append(Fact(f"cpufeature.{key}", "boot log", f"'{evidence.CPU_FEATURES_LINE} {text}' means {cap}", None, None,
                          "arch/arm64/kernel/cpufeature.c arm64_features[] .desc", status, note))
    return facts


def all_facts() -> tuple[Fact, ...]:
    return tuple(_layout_facts() + _s2_facts() + _mapping_facts() + _driver_facts() + _policy_facts()
                 + _pkvm_facts() + _evidence_facts())
