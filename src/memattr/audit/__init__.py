"""Hazard rules, findings and reports: the audit composes the architecture, Linux and platform layers."""
