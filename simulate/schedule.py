"""Dynamic work sharing for the simulators' parallel regions: threads claim independent units.

A ``prange`` over R independent runs gives each thread a fixed block of runs up front. On a quiet
machine that is ideal; on shared cores it is not: a thread whose core is also running another
process moves at half speed, and the region waits for its block while the other thread idles.

:func:`claim` is the cure: ONE parallel region with one task per thread, and each task claims the
next unclaimed unit from a shared counter (an atomic fetch-and-add) until none is left, so a slow
thread simply finishes fewer units. Which thread runs a unit never changes what the unit computes
(every draw is a pure function of seed, stream and counter, and each unit writes only its own
outputs), so results are the same bits on any number of threads and under any load::

    counter = np.zeros(1, np.int64)
    for _ in prange(n_workers):  # n_workers = workers(n_units), computed by the Python caller
        b = claim(counter)
        while b < n_units:
            ...  # unit b
            b = claim(counter)

``workers`` runs in Python: ``numba.get_num_threads()`` inside a kernel would make it uncacheable.

Waiting threads sleep. A thread that has claimed its last unit waits at the end of the region; under
Numba's default ``omp`` threading layer (GNU libgomp) it SPINS there, taking CPU from the thread
still working whenever both share a core with another process. Measured on 2 cores with one busy
process beside (``rlvr-lab bench --contention``): two threads ran 0.69x (paper C, 4 runs) and
0.92x (paper A, K = 4) of one thread with spinning, 1.04x and 1.08x with ``OMP_WAIT_POLICY=PASSIVE``.
Importing this module therefore sets ``OMP_WAIT_POLICY=PASSIVE`` unless the environment already
chose a policy; libgomp reads it when Numba first starts its threads (an OpenMP runtime loaded
earlier keeps its own setting). The regions here last milliseconds, so a sleeping thread's wake-up
(tens of microseconds) costs nothing measurable on a quiet machine.

:func:`claim_on_threads` runs the same scheme without a ``prange`` region: a serial worker kernel
compiled with ``nogil=True`` claims units on a few Python threads. It is for kernels specialised
per call shape (:func:`simulate.lanes.sizes`): a parallel wrapper is compiled again for every
specialisation (about 2.3 s each for composition's), a thread pool compiles nothing.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["claim", "workers", "claim_on_threads"]

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@intrinsic
def _fetch_add_one(typingctx, counter):
    """Atomically ``old = counter[0]; counter[0] += 1; return old`` (int64, C-contiguous (1,))."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64 and counter.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [context.get_constant(types.intp, 0)])
        return builder.atomic_rmw("add", ptr, context.get_constant(types.int64, 1), "monotonic")

    return types.int64(counter), codegen


@njit(cache=True, inline="always")
def claim(counter):
    """The index of the next unclaimed unit (0, 1, 2, ... across all threads, each exactly once)."""
    return _fetch_add_one(counter)


def workers(n_units: int) -> int:
    """Tasks for a claiming region: one per Numba thread, never more than the units (at least 1)."""
    return max(1, min(numba.get_num_threads(), int(n_units)))


def claim_on_threads(worker, n_workers: int, args: tuple, scratch) -> None:
    """Run ``worker(counter, *args, *scratch())`` on ``n_workers`` threads sharing one claim counter.

    ``worker`` is a serial kernel compiled with ``nogil=True`` that claims units with :func:`claim`
    until none is left (the loop of the module docstring, without the ``prange``); ``scratch()``
    returns a tuple of one worker's scratch arrays, called once per worker. One worker runs in the
    calling thread. Results are the same bits on any number of workers, as with the ``prange`` form.
    An exception in any worker is raised here once every worker has stopped.
    """
    counter = np.zeros(1, np.int64)
    others = [_helpers(n_workers - 1).submit(worker, counter, *args, *scratch()) for _ in range(n_workers - 1)]
    try:
        worker(counter, *args, *scratch())
    finally:
        for f in others:
            f.exception()  # wait for every worker, whatever happened here
    for f in others:
        f.result()


_POOL: list = [None, 0, 0]  # claim_on_threads' helper threads, kept between calls: pool, size, process id


def _helpers(n: int) -> ThreadPoolExecutor:
    """A pool of at least ``n`` threads, reused by later calls: starting threads on every call cost
    about 0.25 ms per call (2 workers), a few % of a composition bench call. A forked child gets a
    pool of its own (its copy of the parent's pool has no threads and would never run a task)."""
    if _POOL[1] < n or _POOL[2] != os.getpid():
        if _POOL[0] is not None and _POOL[2] == os.getpid():
            _POOL[0].shutdown(wait=False)
        _POOL[:] = [ThreadPoolExecutor(n, thread_name_prefix="rlvr-lab-worker"), n, os.getpid()]
    return _POOL[0]
