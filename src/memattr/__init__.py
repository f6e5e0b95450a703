"""memattr: an executable model of Arm64 memory attributes for device memory in virtual machines."""

__version__ = "0.1.0"
