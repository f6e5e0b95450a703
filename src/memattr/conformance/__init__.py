"""Conformance kit: the ASL-exact S1+S2 combination as test vectors, and checks of other implementations.

``vectors`` enumerates the whole input space and writes the expected results (CSV, JSON Lines, a C
header); ``compare`` reads an implementation's results and classifies every difference;
``profiles`` describes what named upstream implementations compute (from reading their source), so
they can be compared without running them.  Depends on :mod:`memattr.arch` only.
"""
