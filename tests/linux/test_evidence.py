"""Policy detection from host evidence: backports beat the version number."""

from __future__ import annotations

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
