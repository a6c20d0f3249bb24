"""Paper D simulator: the stylized model's parameters (:class:`Model`, its switches and the kernel's
parameter vector layout). The model itself is described in :mod:`simulate.curriculum`, which
re-exports these names."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from theory.checks import check_choice, check_real

__all__ = ["SWITCHES", "Model", "calibrated_ppl_noise"]

SWITCHES = ("transfer", "entropy_gate", "easy_entropy_decay", "confident_sharpening",
            "initial_entropy_gradient", "ppl_informative")
(M_THETA0, M_BETA, M_PPL_NOISE, M_PPL_INFO, M_LOGPPL_MU, M_LOGPPL_S, M_LR, M_TRANSFER, M_T_WIDTH,
 M_T_STRENGTH, M_H0, M_H_SLOPE, M_DECAY, M_EASY, M_GATE, M_H_NOISE, M_CONFIDENT, N_M) = range(18)


def calibrated_ppl_noise(spearman: float = -0.2) -> float:
    """sigma with population Spearman(PPL, p) = ``spearman`` in the bivariate-normal model [R].

    (6/pi) arcsin(r/2) = |spearman|, r = 1/sqrt(1 + sigma^2)  =>  sigma = sqrt(1/r^2 - 1).

    >>> round(calibrated_ppl_noise(-0.2), 4)
    4.6777
    """
    s = check_real("spearman", spearman, low=-1.0, high=0.0, open_low=True, open_high=True)
    r = 2.0 * math.sin(math.pi * abs(s) / 6.0)
    return math.sqrt(1.0 / r**2 - 1.0)


@dataclass(frozen=True)
class Model:
    """Parameters of the stylized model (see the module docstring). Switches are the bools and the
    named mechanisms of :data:`SWITCHES`; :meth:`without` turns one off."""

    theta0: float = -0.8  # success logit at d = 0: pool mean p(0) ~ 0.33 (paper F1: deciles .15-.50)
    beta: float = 2.0  # difficulty slope of the initial logit
    ppl_noise: float = calibrated_ppl_noise(-0.2)
    ppl_informative: bool = True
    logppl_mu: float = math.log(6.0)  # cosmetic: PPL ~ 1.5-25 as on the paper's poster
    logppl_s: float = 0.6
    lr: float = 0.022  # calibrated once, see below
    transfer: bool = True
    transfer_width: float = 0.5  # l, in units of the difficulty's sd
    transfer_strength: float = 0.5  # c
    h0: float = 1.0
    h_slope: float = 0.12  # gamma: exp(gamma * 2.8) ~ 1.4, paper F2's top/bottom quintile ratio [S]
    initial_entropy_gradient: bool = True
    decay: float = 0.5  # lambda0
    easy_decay: float = 1.0  # kappa
    easy_entropy_decay: bool = True
    gate: float = 1.0  # alpha
    entropy_gate: bool = True
    h_noise: float = 0.5  # sigma_h of the rollout entropies around H_j
    confident_sharpening: bool = True

    def without(self, switch: str) -> "Model":
        """The same model with mechanism ``switch`` (one of :data:`SWITCHES`) turned off."""
        return replace(self, **{check_choice("switch", switch, SWITCHES): False})

    def vector(self) -> np.ndarray:
        """The kernel's parameter vector (N_M,) with the switches applied."""
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, bool):
                check_real(f.name, v, low=-1e6 if f.name == "theta0" else 0.0)
        check_real("lr", self.lr, low=0.0, open_low=True)
        check_real("transfer_width", self.transfer_width, low=0.0, open_low=True)
        m = np.zeros(N_M)
        m[M_THETA0], m[M_BETA] = self.theta0, self.beta
        m[M_PPL_NOISE], m[M_PPL_INFO] = self.ppl_noise, float(self.ppl_informative)
        m[M_LOGPPL_MU], m[M_LOGPPL_S], m[M_LR] = self.logppl_mu, self.logppl_s, self.lr
        m[M_TRANSFER], m[M_T_WIDTH], m[M_T_STRENGTH] = float(self.transfer), self.transfer_width, self.transfer_strength
        m[M_H0] = self.h0
        m[M_H_SLOPE] = self.h_slope if self.initial_entropy_gradient else 0.0
        m[M_DECAY] = self.decay
        m[M_EASY] = self.easy_decay if self.easy_entropy_decay else 0.0
        m[M_GATE] = self.gate if self.entropy_gate else 0.0
        m[M_H_NOISE], m[M_CONFIDENT] = self.h_noise, float(self.confident_sharpening)
        return m
