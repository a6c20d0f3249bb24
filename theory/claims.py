"""Claim records and verdicts: what "verified" means in rlvr-lab.

A :class:`Claim` is one checkable statement of a paper, with its provenance tag ([V] confirmed by
the abstract or two sources, [S] single secondary source, [R] reconstructed for this project), the
quantity theory predicts and how the toolkit measures it. A :class:`Verdict` is the outcome of
evaluating a claim on data: ``supported``, ``not supported`` or ``inconclusive``, always with the
measured numbers, their uncertainty and the sample sizes they rest on. A claim the evidence does not
support is a finding to report, never something to tune away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

__all__ = ["Claim", "Verdict", "SUPPORTED", "NOT_SUPPORTED", "INCONCLUSIVE", "VERDICTS",
           "PAPERS", "judge_interval", "judge", "combine"]

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)
PROVENANCE = ("V", "S", "R")
# paper key -> the name the paper keeps in every layer
PAPERS: Mapping[str, str] = {"A": "budget", "B": "weighting", "C": "kernel", "D": "curriculum",
                             "E": "composition"}
_ID = re.compile(r"^[A-E]\.[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Claim:
    """One checkable statement of a paper.

    ``id`` is ``<paper key>.<slug>`` (e.g. ``B.optimal-regular``); ``predicted`` states the
    quantity theory predicts; ``measurement`` says how it is measured, including the primary
    metric declared before looking at the results.
    """

    id: str
    statement: str
    provenance: str
    predicted: str
    measurement: str

    def __post_init__(self):
        if not _ID.match(self.id):
            raise ValueError(f"claim id must look like 'B.optimal-regular' (paper A-E, kebab-case slug); got {self.id!r}")
        if self.provenance not in PROVENANCE:
            raise ValueError(f"provenance must be one of {PROVENANCE}; got {self.provenance!r}")

    @property
    def paper(self) -> str:
        return self.id[0]


@dataclass(frozen=True)
class Verdict:
    """The outcome of evaluating ``claim`` on data, with the numbers behind it."""

    claim: Claim
    verdict: str
    measured: Mapping[str, object]
    uncertainty: Mapping[str, object] = field(default_factory=dict)
    sample_size: Mapping[str, object] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}")

    def to_json(self) -> dict:
        c = self.claim
        return {"id": c.id, "paper": c.paper, "statement": c.statement, "provenance": c.provenance,
                "predicted": c.predicted, "measurement": c.measurement, "verdict": self.verdict,
                "measured": dict(self.measured), "uncertainty": dict(self.uncertainty),
                "sample_size": dict(self.sample_size), "note": self.note}


def judge_interval(lo: float, hi: float, low: float, high: float) -> str:
    """Verdict for "the quantity lies in [low, high]" given its confidence interval [lo, hi].

    Supported when the interval lies inside the predicted range, not supported when the two are
    disjoint, inconclusive when they overlap only partly.

    >>> judge_interval(1.6, 1.9, 1.5, 2.0), judge_interval(2.5, 3.0, 1.5, 2.0)
    ('supported', 'not supported')
    """
    if lo > hi:
        raise ValueError(f"interval must have lo <= hi; got [{lo}, {hi}]")
    if low <= lo and hi <= high:
        return SUPPORTED
    if hi < low or lo > high:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def judge(*, supported: bool, not_supported: bool) -> str:
    """Verdict of a declared rule given its two conditions: supported, not supported, else
    inconclusive. The two conditions must exclude each other (a rule that can say both is a bug).

    >>> judge(supported=True, not_supported=False), judge(supported=False, not_supported=False)
    ('supported', 'inconclusive')
    """
    supported, not_supported = bool(supported), bool(not_supported)
    if supported and not_supported:
        raise ValueError("a verdict rule's 'supported' and 'not supported' conditions both hold: "
                         "the rule must make them exclusive")
    return SUPPORTED if supported else NOT_SUPPORTED if not_supported else INCONCLUSIVE


def combine(verdicts, *, rule: str = "all") -> str:
    """Combine several verdicts (strings or :class:`Verdict`) into one by a declared rule.

    Both rules: not supported if any part is. ``rule="all"``: supported only if every part is;
    ``rule="any"``: supported if one part is (and none contradicts). Otherwise inconclusive.

    >>> combine(["supported", "inconclusive"]), combine(["supported", "inconclusive"], rule="any")
    ('inconclusive', 'supported')
    """
    if rule not in ("all", "any"):
        raise ValueError(f"rule must be 'all' or 'any'; got {rule!r}")
    kinds = [v.verdict if isinstance(v, Verdict) else v for v in verdicts]
    bad = [k for k in kinds if k not in VERDICTS]
    if bad or not kinds:
        raise ValueError(f"verdicts must be a non-empty list of {VERDICTS}; got {kinds!r}")
    if NOT_SUPPORTED in kinds:
        return NOT_SUPPORTED
    ok = all(k == SUPPORTED for k in kinds) if rule == "all" else SUPPORTED in kinds
    return SUPPORTED if ok else INCONCLUSIVE
