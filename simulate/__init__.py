"""Numba simulators of the five papers, driven by the theory/ registry."""

import theory  # noqa: F401  (installs the package-wide Numba cache stamp before any kernel is defined)
