"""``rlvr-lab bench``: time each fast path against its references in the same process.

Cases come from ``bench_cases(quick)`` functions in the modules of ``theory``, ``simulate`` and
``llm_backend``, plus the figure executors' cases here (:func:`executor_cases`). Each candidate runs once untimed (compilation, caches), then ``repeats`` times;
the best time is kept. Results are throughput and ratios against the case's reference, never an
absolute pass/fail.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from fnmatch import fnmatch

from theory.bench import BenchCase

__all__ = ["discover", "run_case", "run_bench", "executor_cases"]

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
        note=f"fresh runs (units recomputed); {os.cpu_count()} cores; NUMBA_NUM_THREADS=1 per worker")
    return [overhead, speedup]


def run_case(case: BenchCase, repeats: int = 3) -> dict:
    """Best-of-``repeats`` seconds per candidate, throughput and ratio against the reference."""
    if case.setup is not None:
        case.setup()
    times = {}
    for label, fn in case.candidates.items():
        fn()  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        times[label] = best
    ref = times[case.reference]
    return {label: {"seconds": t, "throughput": case.work / t, "speedup_vs_reference": ref / t}
            for label, t in times.items()}


def run_bench(*, quick: bool = False, pattern: str | None = None, repeats: int = 3, echo=print) -> list:
    cases = discover(quick, pattern, echo)
    if not cases:
        raise ValueError(f"--only {pattern!r} matches no benchmark case")
    rows = []
    for case in cases:
        res = run_case(case, repeats)
        echo(f"\n{case.name}  ({case.note})" if case.note else f"\n{case.name}")
        for label, r in res.items():
            tag = " (reference)" if label == case.reference else ""
            target = f"   target {case.targets[label]}" if case.targets.get(label) else ""
            echo(f"  {label:<40} {r['throughput']:>14.4g} {case.unit}/s   "
                 f"x{r['speedup_vs_reference']:.2f} vs reference{tag}{target}")
        rows.append({"case": case.name, "unit": case.unit, "results": res})
    for report in _REPORTERS:
        lines = report()
        for line in lines:
            echo(line)
        if lines:
            rows.append({"report": lines})
    return rows
