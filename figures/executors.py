"""Where units of work run: ``serial`` (default), ``local`` (a process pool), ``ray[=ADDRESS]``.

An executor takes ``{label: (function name 'module:qualname', kwargs)}`` and yields
``(label, result JSON text)`` as units finish, in any order; :meth:`figures.base.RunContext.units`
writes each to the cache and returns them in label order. Every executor calls the same
:func:`figures.base.run_unit`, and a unit's seeds are in its kwargs, so results are the same bytes
whichever executor ran them.

- ``local``: the standard library's ``ProcessPoolExecutor`` (forkserver/spawn start, never fork:
  Numba's threading layers are not fork-safe) with ``workers`` processes (default: the cores).
- ``ray``: Ray core tasks (``ray.remote``; not Ray Tune, whose per-trial overhead of seconds is
  far above a unit's 0.1-1 s). ``ray`` alone starts a local Ray for the run (dashboard off,
  127.0.0.1); ``ray=ADDRESS`` joins a cluster (``ray.init(address=ADDRESS)``), shipping the
  project's packages with ``runtime_env.py_modules``. Ray is the optional extra ``rlvr-lab[ray]``.

Every worker gets ``NUMBA_NUM_THREADS`` (``threads``, default 1: parallelism comes from the
units) and ``NUMBA_CACHE_DIR``: this process's value when set, else (local pool, local Ray) none,
so workers share the kernels Numba caches next to the sources (``cache=True``), as serial runs do;
on a Ray cluster, where the shipped sources may be read-only, a per-node temporary directory.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import tempfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from figures.base import run_unit

__all__ = ["Executor", "SerialExecutor", "LocalExecutor", "RayExecutor", "make_executor", "EXECUTORS"]

EXECUTORS = ("serial", "local", "ray")
_ROOT = Path(__file__).resolve().parents[1]  # the repository root (holds theory/, simulate/, figures/)


def _worker_env(threads: int, *, remote: bool = False) -> dict:
    env = {"NUMBA_NUM_THREADS": str(threads)}
    cache = os.environ.get("NUMBA_CACHE_DIR") or (str(Path(tempfile.gettempdir()) / "rlvr-lab-numba-cache")
                                                  if remote else None)
    if cache:
        env["NUMBA_CACHE_DIR"] = cache
    return env


def _init_worker(env: dict) -> None:
    """Process-pool initializer: Numba's thread count and cache before any kernel runs."""
    os.environ.update(env)
    if "numba" in sys.modules:  # already imported (e.g. by the start method): apply at run time
        import numba

        numba.set_num_threads(min(int(env["NUMBA_NUM_THREADS"]), numba.config.NUMBA_NUM_THREADS))


def _run_unit_with_threads(threads: int, name: str, kwargs: dict) -> str:
    """A Ray task: set this worker's Numba thread count, then run the unit (Ray reuses workers,
    and a worker may have imported Numba before the task's environment applied)."""
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return run_unit(name, kwargs)


class Executor:
    """Base class: ``run(jobs)`` yields ``(label, json_text)``; ``close()`` frees workers."""

    name = "executor"

    def run(self, jobs: dict):  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SerialExecutor(Executor):
    """Runs units one after another in this process."""

    name = "serial"

    def run(self, jobs: dict):
        for label, (fn, kwargs) in jobs.items():
            yield label, run_unit(fn, kwargs)


class LocalExecutor(Executor):
    """A standard-library process pool over the machine's cores (created on first use)."""

    name = "local"

    def __init__(self, workers: int | None = None, *, threads: int = 1):
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be an integer >= 1; got {workers!r}")
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an integer >= 1; got {threads!r}")
        self.workers = workers or os.cpu_count() or 1
        self.threads = threads
        self._pool = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
            self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context(method),
                                             initializer=_init_worker, initargs=(_worker_env(self.threads),))
        return self._pool

    def run(self, jobs: dict):
        if not jobs:
            return
        pool = self._get_pool()
        futures = {pool.submit(run_unit, fn, kwargs): label for label, (fn, kwargs) in jobs.items()}
        try:
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(finished, key=lambda f: futures[f]):
                    yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __del__(self):  # a pool dropped without close() would break the interpreter's exit handler
        try:
            self.close()
        except Exception:
            pass


class RayExecutor(Executor):
    """Ray core tasks, one per unit, on a local Ray (``address=None``) or a cluster."""

    name = "ray"

    def __init__(self, address: str | None = None, *, threads: int = 1, num_cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise ValueError("--executor ray needs Ray: pip install 'rlvr-lab[ray]' (ray>=2.41)") from None
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an integer >= 1; got {threads!r}")
        self._ray = ray
        self.address = address or None
        self.threads = threads
        self.num_cpus = num_cpus
        self._started = False
        self._task = None

    def _ensure(self):
        ray = self._ray
        if self._task is not None:
            return self._task
        env = _worker_env(self.threads, remote=bool(self.address))
        if self.address:  # a cluster: ship the project's packages with the job
            import figures
            import simulate
            import theory

            runtime_env = {"env_vars": env, "py_modules": [theory, simulate, figures]}
        else:  # a local Ray: workers import the packages from this checkout
            env["PYTHONPATH"] = os.pathsep.join([str(_ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
            runtime_env = {"env_vars": env}
        if not ray.is_initialized():
            kwargs = dict(address=self.address, runtime_env=runtime_env, include_dashboard=False,
                          log_to_driver=False, configure_logging=False)
            if not self.address:
                kwargs.update(num_cpus=self.num_cpus, _node_ip_address="127.0.0.1")
            ray.init(**kwargs)
            self._started = True
        # the task carries its runtime_env too, so it applies when joining a Ray started elsewhere
        self._task = ray.remote(_run_unit_with_threads).options(num_cpus=self.threads, max_retries=0,
                                                                runtime_env=runtime_env)
        return self._task

    def run(self, jobs: dict):
        if not jobs:
            return
        ray = self._ray
        task = self._ensure()
        refs = {task.remote(self.threads, fn, kwargs): label for label, (fn, kwargs) in jobs.items()}
        pending = list(refs)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    yield refs[ref], ray.get(ref)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False
            self._task = None


def make_executor(spec: str | None, *, threads: int = 1, workers: int | None = None) -> Executor:
    """``serial`` | ``local`` | ``local=N`` (N workers) | ``ray`` | ``ray=ADDRESS``; None is serial."""
    spec = "serial" if spec is None else str(spec).strip()
    name, _, arg = spec.partition("=")
    if name == "serial" and not arg:
        return SerialExecutor()
    if name == "local":
        if arg:
            try:
                workers = int(arg)
            except ValueError:
                workers = 0
            if workers < 1:
                raise ValueError(f"--executor local=N needs an integer N >= 1; got {arg!r}")
        return LocalExecutor(workers, threads=threads)
    if name == "ray":
        if "=" in spec and not arg:
            raise ValueError("--executor ray=ADDRESS needs an address (e.g. ray=auto or ray=10.0.0.1:6379)")
        return RayExecutor(arg or None, threads=threads)
    raise ValueError(f"--executor must be one of serial, local[=N], ray[=ADDRESS]; got {spec!r}")
