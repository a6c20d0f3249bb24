"""Pure math of the five papers and THE estimator registry (numpy/scipy/numba only)."""

from theory.numba_cache import install as _install_numba_cache

_install_numba_cache()  # cached kernels are keyed on the source of theory/ and simulate/ together
