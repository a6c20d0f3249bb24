"""``rlvr-lab bench``: time each fast path against its references in the same process.

Cases come from ``bench_cases(quick)`` functions in the modules of ``theory``, ``simulate`` and
``llm_backend``, plus the figure executors' cases here (:func:`executor_cases`). Each
candidate runs once untimed (compilation, caches); then the candidates are
timed round-robin, ``repeats`` rounds, so a burst of load elsewhere hits all of them alike, and the
MEDIAN time of each is kept. Results are throughput and ratios, never an absolute pass/fail:

- ``x vs reference``: time of the reference / time of the candidate (e.g. the NumPy twin);
- ``of limit``: for a case with a minimum-work candidate (``BenchCase.limit``), the fraction
  t_limit / t_kernel of that ceiling the kernel reaches;
- ``vs serial``: the parallel kernel against itself on one thread (< 1: parallelism lost time).

``contention=True`` times every case twice: on the machine as it is, then with ``hogs`` extra
CPU-bound processes (a bare Python busy loop each) running on the same cores, which is what a
shared machine does to a parallel kernel. The hogs are this process's children and are stopped
(by their process handle) when the pass ends, also on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import statistics
import subprocess
import sys
import time
from fnmatch import fnmatch

from theory.bench import BenchCase

__all__ = ["discover", "run_case", "summarize", "run_bench", "cpu_hogs", "executor_cases"]

_PACKAGES = ("theory", "simulate", "llm_backend")


_REPORTERS: list = []  # modules' ``bench_report()`` (extra lines, e.g. the training step's phase split)


def discover(quick: bool, pattern: str | None = None, echo=print) -> list[BenchCase]:
    cases = []
    _REPORTERS.clear()
    for pkg_name in _PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.iter_modules(pkg.__path__):
            try:
                module = importlib.import_module(f"{pkg_name}.{info.name}")
            except ImportError as exc:  # e.g. llm extras missing: say so, keep going
                echo(f"skipping {pkg_name}.{info.name}: {exc}")
                continue
            fn = getattr(module, "bench_cases", None)
            if callable(fn) and getattr(fn, "__module__", None) == module.__name__:
                cases.extend(fn(quick))
                if callable(getattr(module, "bench_report", None)):
                    _REPORTERS.append(module.bench_report)
    cases.extend(executor_cases(quick))
    if pattern:
        pat = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
        cases = [c for c in cases if fnmatch(c.name, pat)]
    return cases


def noop_unit(i: int) -> dict:
    """A unit that does nothing: timing it measures an executor's overhead per unit."""
    return {"i": i}


def executor_cases(quick: bool) -> list[BenchCase]:
    """The figure executors: overhead per unit (a no-op unit) and the wall time of ``reproduce``
    with a local process pool against serial (same outputs, byte for byte).

    The pools are created on the harness's untimed warm-up call, so the overhead is the steady
    state: submit, ship the function name and kwargs, run, ship the JSON back.
    """
    import os
    import tempfile

    from figures.base import RunContext, Unit
    from figures.executors import LocalExecutor, SerialExecutor, make_executor

    n_units = 200 if quick else 1000
    executors = {"serial": SerialExecutor(), f"local ({os.cpu_count()} workers)": LocalExecutor()}
    try:
        executors["ray (local)"] = make_executor("ray")
    except ValueError:  # Ray not installed: its case is skipped
        pass

    def run_noops(ex):
        ctx = RunContext(executor=ex)  # no cache: every call runs every unit
        return lambda: ctx.units({str(i): Unit(noop_unit, i=i) for i in range(n_units)})

    overhead = BenchCase(
        name="executor overhead per unit", unit="units", work=n_units,
        candidates={label: run_noops(ex) for label, ex in executors.items()}, reference="serial",
        note="no-op units; overhead per unit = 1 / throughput")

    only = "weighting_time_to_target" if quick else "B"
    tmp = tempfile.mkdtemp(prefix="rlvr-bench-")

    def reproduce_with(spec):
        from rlvr_lab.reproduce import reproduce

        out = os.path.join(tmp, spec.replace("=", "_"))
        return lambda: reproduce(out=out, only=only, fresh=True, executor=spec, echo=lambda *a: None,
                                 log=lambda line: None)

    speedup = BenchCase(
        name=f"reproduce --only {only} (fast profile): local pool vs serial", unit="runs", work=1,
        candidates={"serial": reproduce_with("serial"), "local": reproduce_with("local")}, reference="serial",
        note=f"fresh runs (units recomputed); serial with its prefetch helper process; {os.cpu_count()} cores; "
             "NUMBA_NUM_THREADS=1 per worker")
    return [overhead, speedup]


def run_case(case: BenchCase, repeats: int = 5) -> dict:
    """Median-of-``repeats`` seconds per candidate (timed round-robin), throughput and the ratio
    against the reference: ``{label: {"seconds", "throughput", "speedup_vs_reference"}}``."""
    if case.setup is not None:
        case.setup()
    for fn in case.candidates.values():
        fn()  # warm-up
    samples = {label: [] for label in case.candidates}
    for _ in range(repeats):
        for label, fn in case.candidates.items():
            t0 = time.perf_counter()
            fn()
            samples[label].append(time.perf_counter() - t0)
    times = {label: statistics.median(ts) for label, ts in samples.items()}
    ref = times[case.reference]
    return {label: {"seconds": t, "throughput": case.work / t, "speedup_vs_reference": ref / t}
            for label, t in times.items()}


def summarize(case: BenchCase, res: dict) -> dict:
    """The case's headline ratios: kernel vs reference, fraction of the limit, parallel vs serial."""
    if case.kernel is None:
        return {}
    t = {label: r["seconds"] for label, r in res.items()}
    out = {"kernel": case.kernel, "vs_reference": t[case.reference] / t[case.kernel]}
    if case.limit is not None:
        out["of_limit"] = t[case.limit] / t[case.kernel]
    if case.serial is not None:
        out["vs_serial"] = t[case.serial] / t[case.kernel]
    return out


@contextlib.contextmanager
def cpu_hogs(n: int):
    """Run ``n`` CPU-bound child processes (busy loops) for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
    try:
        time.sleep(0.2)  # let them reach the run queue
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _echo_case(case: BenchCase, res: dict, summary: dict, echo, tag: str = "") -> None:
    head = f"\n{case.name}{tag}"
    echo(f"{head}  ({case.note})" if case.note else head)
    for label, r in res.items():
        role = (" (reference)" if label == case.reference else " (minimum work)" if label == case.limit
                else "")
        target = f"   target {case.targets[label]}" if label in case.targets else ""
        echo(f"  {label:<40} {r['throughput']:>14.4g} {case.unit}/s   "
             f"x{r['speedup_vs_reference']:.2f} vs reference{role}{target}")
    if summary:
        parts = [f"x{summary['vs_reference']:.2f} vs {case.reference}"]
        if "of_limit" in summary:
            parts.append(f"{100 * summary['of_limit']:.0f}% of {case.limit}")
        if "vs_serial" in summary:
            parts.append(f"x{summary['vs_serial']:.2f} vs {case.serial}")
        echo(f"  => {case.kernel}: " + ", ".join(parts))


def run_bench(*, quick: bool = False, pattern: str | None = None, repeats: int = 5, contention: bool = False,
              hogs: int | None = None, echo=print, on_rows=None) -> list:
    """Time every case (medians of ``repeats`` round-robin rounds); with ``contention``, once more
    with ``hogs`` CPU-bound processes on the same cores (default 1: one other busy process).
    Returns one row per case and condition: ``{"case", "unit", "condition", "results", "summary"}``.
    ``on_rows(rows)``, if given, receives the rows so far after every case (the command line writes
    them to ``--json`` each time, so Ctrl-C or a kill keeps the finished cases)."""
    cases = discover(quick, pattern, echo)
    if not cases:
        raise ValueError(f"--only {pattern!r} matches no benchmark case")
    n_hogs = 1 if hogs is None else hogs
    conditions = [("as is", 0)] + ([(f"contention: {n_hogs} CPU-bound process(es)", n_hogs)] if contention else [])
    rows = []
    for condition, n in conditions:
        if contention:
            echo(f"\n=== {condition} ===")
        with cpu_hogs(n):
            for case in cases:
                res = run_case(case, repeats)
                summary = summarize(case, res)
                _echo_case(case, res, summary, echo, f"  [{condition}]" if contention else "")
                rows.append({"case": case.name, "unit": case.unit, "condition": condition,
                             "results": res, "summary": summary})
                if on_rows is not None:
                    on_rows(rows)
    for report in _REPORTERS:
        lines = report()
        for line in lines:
            echo(line)
        if lines:
            rows.append({"report": lines})
    if on_rows is not None:
        on_rows(rows)
    return rows
