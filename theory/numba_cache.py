"""Numba's on-disk cache, keyed on the source of every kernel package (not one file).

Numba stamps a cached function with the hash of ITS OWN source file only. A kernel in
simulate/budget.py inlines ``advantage_row`` from theory/advantage_kernels.py, so editing the
registry's kernel would leave the simulator's cached machine code stale: the cache would
outrank the code. :func:`install` puts three cache locators in front of Numba's own (same cache
directories: ``NUMBA_CACHE_DIR`` if set, else the module's ``__pycache__``, else the user-wide
cache when the install is read-only) whose source stamp,
for functions defined in theory/ or simulate/, is the SHA-256 of the sources of both packages
(every ``*.py``, sorted by path). Editing any of them recompiles every cached kernel once; the
same source always loads the same machine code. Functions elsewhere keep Numba's own locators.

It uses Numba's cache-locator hook (``numba.core.caching.CacheImpl._locator_classes``, the
list ``NUMBA_CACHE_LOCATOR_CLASSES`` also overrides). If a future Numba drops that hook,
:func:`install` returns False and caching falls back to Numba's per-file stamps (the test
tests/test_estimators_runtime.py::test_numba_cache_stamp_covers_the_kernel_packages then fails).
The stamp reads the package sources once per process (see :func:`source_stamp`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["install", "source_stamp", "hash_sources", "PACKAGES"]

_ROOT = Path(__file__).resolve().parent.parent
#: Packages whose Numba kernels may inline each other's functions.
PACKAGES = (_ROOT / "theory", _ROOT / "simulate")
_STAMP: list = []  # the stamp of this process, computed once


def hash_sources(root: Path, packages) -> str:
    """SHA-256 over (path relative to ``root``, content) of every ``*.py`` in ``packages``, sorted."""
    h = hashlib.sha256()
    for p in sorted(p for pkg in packages for p in Path(pkg).glob("*.py")):
        h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return "rlvr-lab:" + h.hexdigest()


def source_stamp() -> str:
    """The stamp of this process: :func:`hash_sources` of :data:`PACKAGES`, read ONCE (at the first
    cached kernel). Kernels compiled by this process come from the source it imported at start;
    re-reading the files later (after an edit made while it runs) would file old machine code
    under the new source's stamp."""
    if not _STAMP:
        _STAMP.append(hash_sources(_ROOT, PACKAGES))
    return _STAMP[0]


def _in_packages(py_file) -> bool:
    try:
        parent = Path(py_file).resolve().parent
    except (OSError, TypeError):
        return False
    return any(parent == pkg for pkg in PACKAGES)


def install() -> bool:
    """Register the package-wide stamp with Numba's cache (idempotent). False if Numba lacks the hook."""
    try:
        from numba.core import caching
        impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # public name since 0.6x
        bases = (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator, caching.UserWideCacheLocator)
        classes = impl._locator_classes
    except (ImportError, AttributeError):
        return False
    if any(getattr(c, "_rlvr_lab", False) for c in classes):
        return True

    def make(base):
        class Locator(base):
            _rlvr_lab = True

            def get_source_stamp(self):
                return source_stamp()

            @classmethod
            def from_function(cls, py_func, py_file):
                if not _in_packages(py_file):
                    return None
                return super().from_function(py_func, py_file)

        Locator.__name__ = Locator.__qualname__ = f"PackageStamp{base.__name__}"
        return Locator

    classes[:0] = [make(base) for base in bases]  # Numba's own order: NUMBA_CACHE_DIR, __pycache__, user dir
    return True
