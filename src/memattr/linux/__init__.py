"""The Linux model: MAIR layout, pgprot/ioremap, VMA flags, vfio drivers, KVM stage-2 policies per version."""
