"""Litmus tests: herdtools7 AArch64 format, the Arm axiomatic model, and device-memory endpoints."""
