"""simulate.schedule: threads claim independent units; every unit runs exactly once, on any number
of threads and workers, and the claiming changes no result."""

import numba
import numpy as np
import pytest
from numba import njit, prange

from simulate.schedule import claim, claim_on_threads, workers


@njit(parallel=True)
def _count_claims(n_workers, n_units, hits, owner):
    counter = np.zeros(1, np.int64)
    for w in prange(n_workers):
        b = claim(counter)
        while b < n_units:
            hits[b] += 1
            owner[b] = w
            b = claim(counter)


@pytest.mark.parametrize("n_workers,n_units", [(1, 0), (1, 7), (2, 1), (2, 257), (5, 64)])
def test_every_unit_is_claimed_exactly_once(n_workers, n_units):
    hits = np.zeros(n_units, np.int64)
    owner = np.full(n_units, -1, np.int64)
    _count_claims(n_workers, n_units, hits, owner)
    assert hits.tolist() == [1] * n_units
    assert set(owner.tolist()) <= set(range(n_workers))


def test_workers_is_one_per_thread_bounded_by_the_units():
    threads = numba.get_num_threads()
    assert workers(0) == 1 and workers(1) == 1
    assert workers(10_000) == threads
    assert workers(threads + 5) == threads


def test_waiting_threads_sleep_unless_the_user_chose_a_policy():
    import os
    import subprocess
    import sys

    code = "import simulate.schedule, os; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ACTIVE"


@njit(nogil=True)
def _claim_serially(counter, n_units, hits, owner, me):
    b = claim(counter)
    while b < n_units:
        hits[b] += 1
        owner[b] = me[0]
        b = claim(counter)


@pytest.mark.parametrize("n_workers,n_units", [(1, 0), (1, 7), (2, 1), (2, 4096), (3, 257)])
def test_threads_claim_every_unit_exactly_once_each_with_its_own_scratch(n_workers, n_units):
    hits = np.zeros(n_units, np.int64)
    owner = np.full(n_units, -1, np.int64)
    made = []

    def scratch():  # one id per worker, handed to its worker as scratch
        made.append(len(made))
        return (np.array([made[-1]]),)

    claim_on_threads(_claim_serially, n_workers, (n_units, hits, owner), scratch)
    assert hits.tolist() == [1] * n_units
    assert made == list(range(max(1, n_workers)))
    assert set(owner.tolist()) <= set(made)


def test_a_failing_worker_raises_in_the_caller():
    def worker(counter, box):
        if claim(counter) == 1:  # the second worker to claim fails
            raise RuntimeError("worker failed")

    with pytest.raises(RuntimeError, match="worker failed"):
        claim_on_threads(worker, 2, (), lambda: ((),))


def test_a_forked_child_runs_its_workers_on_threads_of_its_own():
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork on this platform")
    claim_on_threads(_claim_serially, 2, (4, np.zeros(4, np.int64), np.zeros(4, np.int64)),
                     lambda: (np.array([0]),))  # the parent's pool exists before the fork
    child = mp.get_context("fork").Process(target=_claim_in_child)
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0  # a child reusing the parent's thread-less pool would hang


def _claim_in_child():
    hits = np.zeros(64, np.int64)
    claim_on_threads(_claim_serially, 2, (64, hits, np.zeros(64, np.int64)), lambda: (np.array([0]),))
    raise SystemExit(0 if hits.tolist() == [1] * 64 else 1)
