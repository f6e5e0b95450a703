"""Real arm64 kernels under QEMU as the oracle of the Linux model (``memattr lab``, docs/lab.md)."""
