"""Policy detection from host evidence: backports beat the version number."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from memattr.linux.evidence import Evidence, detect_policy


def test_version_alone():
    assert detect_policy(Evidence(release="6.6.0-14-generic")).policy.name == "device-forced"
    assert detect_policy(Evidence(release="6.12.3")).policy.name == "allow-any-uncached"


def test_nvgrace_backport_on_a_6_6_distro_kernel():
    evidence = Evidence(release="6.6.0-1012-nvidia", modules=frozenset({"nvgrace_gpu_vfio_pci"}))
    detection = detect_policy(evidence)
    assert detection.policy.name == "allow-any-uncached"
    assert any("backport" in reason for reason in detection.reasons)


def test_config_marker_counts_as_module():
    evidence = Evidence(release="6.8.0", config={"CONFIG_NVGRACE_GPU_VFIO_PCI": "m"})
    assert detect_policy(evidence).policy.name == "allow-any-uncached"


def test_marker_never_lowers_the_policy():
    evidence = Evidence(release="6.17.1", modules=frozenset({"nvgrace_gpu_vfio_pci"}))
    assert detect_policy(evidence).policy.name == "cacheable-pfnmap"


def test_fwb_from_boot_log():
    log = ("CPU features: detected: Stage-2 Force Write-Back", "CPU features: detected: Memory Tagging Extension")
    detection = detect_policy(Evidence(release="6.9", boot_log=log))
    assert detection.fwb is True and detection.mte is True
    detection = detect_policy(Evidence(release="6.9", boot_log=("CPU features: detected: Privileged Access Never",)))
    assert detection.fwb is False
    assert detect_policy(Evidence(release="6.9")).fwb is None


def test_no_release_warns():
    detection = detect_policy(Evidence())
    assert detection.policy.name == "device-forced" and detection.warnings


def test_dic_and_fwb_from_a_real_boot_log_line():
    """cpufeature.c prints 'CPU features: detected: <desc>' for ARM64_HAS_CACHE_DIC and ARM64_HAS_STAGE2_FWB."""
    from memattr.linux.evidence import Evidence, detect_policy

    log = ("[    0.567970] CPU features: detected: Data cache clean to the PoU not required for I/D coherence",
           "[    0.570757] CPU features: detected: Instruction cache invalidation not required for I/D coherence",
           "[    0.573335] CPU features: detected: Stage-2 Force Write-Back")
    both = detect_policy(Evidence(release="6.17.0", boot_log=log))
    assert (both.fwb, both.dic) == (True, True)
    idc_only = detect_policy(Evidence(release="6.17.0", boot_log=log[:1]))
    assert (idc_only.fwb, idc_only.dic) == (False, False)  # IDC is not DIC
    assert detect_policy(Evidence(release="6.17.0")).dic is None


# The four distribution release strings of issue #8: the upstream base decides the starting policy
# (VM_ALLOW_ANY_UNCACHED honoured from v6.9, 8c47ce3e1d2c; cacheable PFNMAP from v6.17), and the
# reasons name the release and the base.
@pytest.mark.parametrize(("release", "base", "policy"), [
    ("5.15.0-122-generic", "5.15", "device-forced"),
    ("6.8.0-1013-nvidia-64k", "6.8", "device-forced"),
    ("6.12.34+rpt-rpi-v8", "6.12", "allow-any-uncached"),
    ("6.12.117+deb13-arm64", "6.12", "allow-any-uncached"),
])
def test_distribution_release_strings(release, base, policy):
    detection = detect_policy(Evidence(release=release))
    assert str(detection.version) == base and detection.policy.name == policy
    assert detection.reasons == (f"kernel {release}: upstream {base} runs {policy}",)


def test_nvidia_6_8_kernel_with_nvgrace_module_is_raised_and_says_why():
    evidence = Evidence(release="6.8.0-1013-nvidia-64k", modules=frozenset({"nvgrace_gpu_vfio_pci"}))
    detection = detect_policy(evidence)
    assert detection.policy.name == "allow-any-uncached"
    assert detection.reasons[0] == "kernel 6.8.0-1013-nvidia-64k: upstream 6.8 runs device-forced"
    assert detection.reasons[1].startswith("nvgrace-gpu (module nvgrace_gpu_vfio_pci) proves a backport")


@pytest.mark.parametrize("release", ["5.15.0-122-generic", "6.8.0-1013-nvidia-64k", "6.12.34+rpt-rpi-v8",
                                     "6.12.117+deb13-arm64"])
def test_report_header_names_the_release_and_its_base(release):
    root = Path(__file__).resolve().parents[2] / "examples" / "legacy-5.10"
    result = subprocess.run([sys.executable, "-m", "memattr", "audit", str(root), "--kernel", release],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    base = release.split("-")[0].split("+")[0].rsplit(".", 1)[0]
    assert f"kernel {release}: upstream {base} runs " in result.stdout
