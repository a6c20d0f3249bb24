"""Mirror a training run's ``log.jsonl`` / ``eval.jsonl`` to an experiment tracker (trackio).

``rlvr-lab llm train`` writes one JSON line per optimizer step to ``<run>/log.jsonl`` and one per
held-out evaluation to ``<run>/eval.jsonl`` (``llm_backend.trainer``). :func:`mirror_run` copies
them into a tracker run; by default trackio (``pip install 'rlvr-lab[track]'``), which is
local-first: runs go to a SQLite database under ``TRACKIO_DIR`` (default ``$HF_HOME/trackio``),
logging needs no network, and ``trackio show --project P`` opens the dashboard. The trainer does
not know about any of this (``llm_backend`` never imports a tracker).

What is logged, at ``step=`` the training step:

- every numeric scalar field of a log line (bools as 0/1), nested dicts flattened with ``/``
  (``phase_seconds/sampling``, ``selection/ppl_selected_mean``); lists, strings and nulls
  (``prompt_ids``, ``rho_hat``, ``dtype``) are skipped, and ``step`` is the step;
- the same for an evaluation, prefixed ``eval/`` (``eval/reward_mean``; step 0 = before training);
- the run's ``config.json`` as the tracker run's config.

Exactly once. A sidecar ``<run>/tracking.json`` records, per (tracker, project, run name), the last
mirrored step of each file and a digest of the run's configuration (the fields a resume may change,
``llm_backend.config.RESUME_MAY_CHANGE``, left out). A later call logs only the lines past those
steps and resumes the tracker run (trackio ``init(resume="must")``; ``"allow"`` the first time). So
mirroring twice logs nothing new; and after ``llm train --resume``, which truncates the logs to the
checkpoint's step and rewrites them (identically up to timings: a resumed run repeats the
uninterrupted one), only steps past the mirrored ones are logged, the tracker keeping the
first-written values of the re-run steps. Refused with a ``ValueError`` instead of mixed: a run
directory whose configuration changed since it was mirrored (another run written into the same
directory), and a tracker run of that name with logged steps the sidecar does not record (e.g. two
run directories with the same name; pass ``name``). One mirror per run directory at a time
(``tracking.lock``, POSIX advisory lock).

Follow mode (``follow=True``) polls every ``poll_s`` seconds until the run is over: its
``summary.json`` (rewritten after every step) says all configured steps are done, or that the run was
interrupted. A run killed outright never says so; the mirror then polls until it is interrupted
itself. Ctrl-C is held while a batch of lines is handed to the tracker and recorded in the sidecar,
then the tracker run is finished (flushed), so an interrupted mirror never logs a step twice. A
``kill -9`` of the mirror can lose the steps of its last half second (trackio writes its queue from
a background thread every 0.5 s) but never duplicates one.

Examples::

    rlvr-lab integrations track runs/lin --project rlvr               # once (again: only new steps)
    rlvr-lab integrations track runs/lin --project rlvr --follow      # beside a running `llm train`
    trackio show --project rlvr
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import threading
import time
from numbers import Real
from pathlib import Path

from llm_backend.config import RESUME_MAY_CHANGE
from llm_backend.results import atomic_write_text
from theory.checks import check_real

__all__ = ["mirror_run", "scalar_metrics", "TrackioTracker", "SIDECAR", "TRACK_EXTRA_HINT"]

SIDECAR = "tracking.json"
LOCK = "tracking.lock"
TRACK_EXTRA_HINT = 'mirroring to trackio needs the `track` extra: pip install "rlvr-lab[track]"'
_STREAMS = (("log", "log.jsonl", ""), ("eval", "eval.jsonl", "eval/"))  # (stream, file, metric prefix)


# ---------------------------------------------------------------------------------------------
# The tracker
# ---------------------------------------------------------------------------------------------
class TrackioTracker:
    """trackio behind the protocol :func:`mirror_run` uses: ``init(project=, name=, config=, resume=)``,
    ``log(metrics, step=)``, ``finish()`` and, optionally, ``last_step(project, name)`` (the largest
    logged step of an existing run, None when there is none; used to refuse mixing two runs).

    No dashboard is launched and no CPU/GPU monitor started (``embed=False``, ``auto_log_*=False``).
    """

    name = "trackio"

    def __init__(self):
        try:
            import trackio
        except ImportError:
            raise ValueError(f"{TRACK_EXTRA_HINT} (trackio is not installed)") from None
        self._trackio = trackio

    def last_step(self, project: str, name: str) -> int | None:
        """Largest step logged locally to run ``name`` of ``project`` (trackio's own resume lookup)."""
        from trackio.sqlite_storage import SQLiteStorage

        try:
            return SQLiteStorage.get_max_step_for_run(project, name)
        except Exception:  # noqa: BLE001 - an unreadable project is a missing one here
            return None

    def init(self, *, project: str, name: str, config: dict, resume: str) -> None:
        self._trackio.init(project=project, name=name, config=config, resume=resume, embed=False,
                           auto_log_cpu=False, auto_log_gpu=False)

    def log(self, metrics: dict, *, step: int) -> None:
        self._trackio.log(metrics, step=step)

    def finish(self) -> None:
        self._trackio.finish()


# ---------------------------------------------------------------------------------------------
# Records -> metrics
# ---------------------------------------------------------------------------------------------
def scalar_metrics(record: dict, prefix: str = "") -> dict:
    """The numeric scalar fields of one JSON record, ``prefix`` + key, nested dicts flattened with ``/``.

    Bools become 0/1; lists, strings and nulls are skipped; the top-level ``step`` is left out (it is
    the step the metrics are logged at).

    >>> scalar_metrics({"step": 3, "loss": 0.5, "backward": True, "rho_hat": [0.1], "dtype": "float32",
    ...                 "phase_seconds": {"sampling": 1.5, "optimizer": 0.25}})
    {'loss': 0.5, 'backward': 1, 'phase_seconds/sampling': 1.5, 'phase_seconds/optimizer': 0.25}
    >>> scalar_metrics({"step": 0, "reward_mean": 0.25, "rewards": [[0, 1]]}, prefix="eval/")
    {'eval/reward_mean': 0.25}
    """
    if not isinstance(record, dict):
        raise ValueError(f"record must be a dict (one JSON line of log.jsonl / eval.jsonl); got {type(record).__name__}")
    out: dict = {}
    _flatten({k: v for k, v in record.items() if k != "step"}, prefix, out)
    return out


def _flatten(d: dict, prefix: str, out: dict) -> None:
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, bool):
            out[key] = int(v)
        elif isinstance(v, Real):
            out[key] = v
        elif isinstance(v, dict):
            _flatten(v, key + "/", out)


class _Tail:
    """The complete lines of a JSON-lines file written since the last read. Starts over when the file
    was replaced or shrank (the trainer's truncation on resume is an atomic replace); a last line
    without its newline (being written, or torn by a kill) waits for the next read."""

    def __init__(self, path: Path):
        self.path, self.ident, self.offset, self.lineno = path, None, 0, 0

    def read(self) -> list[dict]:
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return []
        with f:
            st = os.fstat(f.fileno())
            if (st.st_dev, st.st_ino) != self.ident or st.st_size < self.offset:
                self.ident, self.offset, self.lineno = (st.st_dev, st.st_ino), 0, 0
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        out = []
        for raw in data[:end].splitlines():
            self.lineno += 1
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError:
                rec = None
            if not isinstance(rec, dict) or isinstance(rec.get("step"), bool) or not isinstance(rec.get("step"), int):
                raise ValueError(f"{self.path} line {self.lineno} is not a JSON record with an integer 'step'; "
                                 "is this a run directory of `rlvr-lab llm train`?")
            out.append(rec)
        return out


def _new_lines(tails: dict, cursor: dict) -> list[tuple[int, int, str, dict]]:
    """(step, stream order, stream, metrics) of the records past ``cursor``, in step order."""
    out = []
    for order, (stream, _, prefix) in enumerate(_STREAMS):
        last = cursor[stream]
        for rec in tails[stream].read():
            if rec["step"] > last:  # a step at or below the cursor was mirrored (or is out of order)
                out.append((rec["step"], order, stream, scalar_metrics(rec, prefix)))
                last = rec["step"]
    return sorted(out, key=lambda t: t[:2])


# ---------------------------------------------------------------------------------------------
# Run directory, sidecar, lock, Ctrl-C
# ---------------------------------------------------------------------------------------------
def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{what} {path} is not valid JSON") from None


def _config_digest(config: dict | None) -> str | None:
    """SHA-256 of the run's configuration without the fields a resume may change."""
    if config is None:
        return None
    core = {k: v for k, v in config.items() if k not in RESUME_MAY_CHANGE}
    return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()


def _read_config(run_dir: Path) -> dict | None:
    config = _read_json(run_dir / "config.json", "config")
    if config is not None and not isinstance(config, dict):
        raise ValueError(f"config {run_dir / 'config.json'} must hold a JSON object")
    return config


def _run_over(run_dir: Path) -> bool:
    """``summary.json`` says every configured step is done, or that the run was interrupted."""
    try:
        s = json.loads((run_dir / "summary.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return False  # not written yet (it is replaced atomically, so never half-written)
    if not isinstance(s, dict):
        return False
    steps, done = (s.get("config") or {}).get("steps"), s.get("steps_done")
    return bool(s.get("interrupted")) or (isinstance(steps, int) and isinstance(done, int) and done >= steps)


def _load_sidecar(path: Path) -> dict:
    data = _read_json(path, "tracking sidecar")
    if data is None:
        return {"format": 1, "mirrors": {}}
    if not isinstance(data, dict) or not isinstance(data.get("mirrors"), dict):
        raise ValueError(f"tracking sidecar {path} is malformed (no 'mirrors' object); move it away to mirror anew")
    return data


def _save_sidecar(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


@contextlib.contextmanager
def _run_lock(run_dir: Path):
    """Exclusive advisory lock on ``run_dir/tracking.lock`` (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: one mirror per run directory is then the user's care
        fcntl = None
    with open(run_dir / LOCK, "a") as f:
        if fcntl is not None:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise ValueError(f"another mirror of {run_dir} is running (it holds {run_dir / LOCK})") from None
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def _sigint_held():
    """Hold Ctrl-C (SIGINT) until the block is done, then raise it; a no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old if old is not None else signal.default_int_handler)
    if got:
        raise KeyboardInterrupt


# ---------------------------------------------------------------------------------------------
# The mirror
# ---------------------------------------------------------------------------------------------
def mirror_run(run_dir, *, project: str, name: str | None = None, follow: bool = False, poll_s: float = 10.0,
               tracker=None) -> dict:
    """Log the steps of ``run_dir``'s ``log.jsonl`` (and ``eval.jsonl`` as ``eval/*``) to ``tracker``.

    ``project``: tracker project; ``name``: tracker run name (default: the run directory's name);
    ``follow``: keep polling every ``poll_s`` seconds until the run is over (module docstring);
    ``tracker``: an object with ``init``/``log``/``finish`` (:class:`TrackioTracker`'s protocol),
    default trackio. Only lines past the steps recorded in ``run_dir/tracking.json`` are logged.

    Returns ``{"tracker", "project", "name", "logged": {"log": n, "eval": m}, "last_step": {...}}``
    (``last_step``: the last mirrored step of each file, -1 for none). Raises ``ValueError`` on bad
    input before anything is logged: a missing directory, no ``log.jsonl`` (with ``follow``, a
    ``config.json`` suffices: the trainer writes it before the first step), an empty project or
    name, ``poll_s`` <= 0, trackio missing, a changed run or a tracker run the sidecar does not know.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"run_dir must be an existing run directory of `rlvr-lab llm train`; {run_dir} is not a directory")
    if not isinstance(project, str) or not project.strip():
        raise ValueError(f"project must be a non-empty tracker project name; got {project!r}")
    if name is None:
        name = run_dir.resolve().name
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty tracker run name; got {name!r}")
    poll_s = check_real("poll_s", poll_s, low=0.0, open_low=True)
    if not (run_dir / "log.jsonl").is_file() and not (follow and (run_dir / "config.json").is_file()):
        raise ValueError(f"run_dir {run_dir} has no log.jsonl (not a run of `rlvr-lab llm train`, or no step "
                         "done yet: follow=True / --follow waits for one once config.json is there)")
    tracker = TrackioTracker() if tracker is None else tracker
    missing = [m for m in ("init", "log", "finish") if not callable(getattr(tracker, m, None))]
    if missing:
        raise ValueError(f"tracker must have init, log and finish methods; missing: {', '.join(missing)}")
    with _run_lock(run_dir):
        return _mirror(run_dir, project, name, follow, poll_s, tracker)


def _mirror(run_dir: Path, project: str, name: str, follow: bool, poll_s: float, tracker) -> dict:
    tname = getattr(tracker, "name", None) or type(tracker).__name__
    side_path, key = run_dir / SIDECAR, f"{tname}:{project}/{name}"
    side = _load_sidecar(side_path)
    config = _read_config(run_dir)
    digest = _config_digest(config)
    entry = side["mirrors"].get(key)
    if entry is not None:
        try:
            cursor = {s: int(entry["last_step"][s]) for s, _, _ in _STREAMS}
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"tracking sidecar {side_path}: entry {key!r} is malformed; remove it to mirror anew") from None
        _check_same_run(entry.get("config_sha256"), digest, run_dir, key)
        resume = "must"
    else:
        prior = tracker.last_step(project, name) if callable(getattr(tracker, "last_step", None)) else None
        if prior is not None:
            raise ValueError(f"{tname} run {name!r} of project {project!r} already has logged steps (up to {prior}) "
                             f"that {side_path} does not record; pass another name (--name) or delete that run")
        cursor, resume = {s: -1 for s, _, _ in _STREAMS}, "allow"
    tails = {s: _Tail(run_dir / f) for s, f, _ in _STREAMS}
    logged = {s: 0 for s, _, _ in _STREAMS}
    started = dirty = False

    def record():
        side["mirrors"][key] = {"tracker": tname, "project": project, "name": name, "config_sha256": digest,
                                "last_step": dict(cursor)}
        _save_sidecar(side_path, side)

    try:
        while True:
            over = follow and _run_over(run_dir)  # before reading: the lines it counts are then on disk
            new = _new_lines(tails, cursor)
            if new:
                if started and follow:  # another run written into the directory meanwhile?
                    _check_same_run(digest, _config_digest(_read_config(run_dir)), run_dir, key)
                with _sigint_held():
                    if not started:
                        try:
                            tracker.init(project=project, name=name, config=config or {}, resume=resume)
                        except ValueError as err:
                            raise ValueError(f"{tname}: cannot open run {name!r} of project {project!r} "
                                             f"(resume={resume!r}): {err}") from None
                        started = True
                    for step, _, stream, metrics in new:
                        if metrics:
                            tracker.log(metrics, step=step)
                        cursor[stream], dirty = step, True
                        logged[stream] += 1
                    record()
                    dirty = False
            if not follow or over:
                break
            time.sleep(poll_s)
    finally:
        try:
            if dirty:  # an error part-way through a batch: keep what was handed over
                record()
        finally:
            if started:
                tracker.finish()
    return {"tracker": tname, "project": project, "name": name, "logged": logged, "last_step": dict(cursor)}


def _check_same_run(stored: str | None, now: str | None, run_dir: Path, key: str) -> None:
    if stored is not None and now is not None and stored != now:
        raise ValueError(f"run_dir {run_dir} holds another run than the one mirrored to {key} (its config.json "
                         "changed beyond steps/command/device/out_dir/checkpoint_every); pass another name (--name)")
