"""Plain-Python reference implementations (slow, obvious, written from the frameworks' formulas).

Each follows reference/rlvr_frameworks.md literally: verl ``compute_grpo_outcome_advantage``
(torch.std unbiased, eps added to std, singleton mean 0 / std 1), TRL ``scale_rewards="group"``
(Bessel std, eps 1e-4, singleton std 0), OpenRLHF ``group_norm`` (eps 1e-9), RLOO's leave-one-out
mean, and paper B's A_i = omega(rho_hat) (r_i - rho_hat). They are the oracles of the equivalence
tests, so they share no code with theory/estimators.py.
"""

import math
import statistics

EPS = {"verl": 1e-6, "trl": 1e-4, "openrlhf": 1e-9}


def grpo_group(r, convention="verl"):
    n, eps = len(r), EPS[convention]
    if n == 1:
        if convention == "verl":
            return [(r[0] - 0.0) / (1.0 + eps)]
        return [0.0]
    mean = sum(r) / n
    if all(x == r[0] for x in r):
        return [0.0] * n
    std = statistics.stdev(r)  # Bessel-corrected, as torch.std
    return [(x - mean) / (std + eps) for x in r]


def dr_grpo_group(r, singleton="raw"):
    if len(r) == 1:
        return [r[0] if singleton == "raw" else 0.0]
    if all(x == r[0] for x in r):
        return [0.0] * len(r)
    mean = sum(r) / len(r)
    return [x - mean for x in r]


def rloo_group(r, singleton="raw"):
    n = len(r)
    if n == 1:
        return [r[0] if singleton == "raw" else 0.0]
    if all(x == r[0] for x in r):
        return [0.0] * n
    return [r[i] - (sum(r) - r[i]) / (n - 1) for i in range(n)]


#: Paper B's w(rho) of each weight-family entry (notes, table B.2), written independently of the
#: kernels. A new weighting adds its line here (its oracle) next to its registry entry.
WEIGHTS = {
    "linear_r": lambda rho, rho_star=0.5: 1 - rho,
    "sqrt_r": lambda rho, rho_star=0.5: math.sqrt(1 - rho),
    "uniform_r": lambda rho, rho_star=0.5: 1.0,
    "plateau_r": lambda rho, rho_star=0.5: min(1.0, (1 - rho) / (1 - rho_star)),
}


def effective_weight(name, rho, **options):
    """Paper B's w(rho) of a weight-family entry."""
    return WEIGHTS[name](rho, **options)


def asymmetric_group(name, r, **options):
    """A_i = omega(rho_hat)(r_i - rho_hat) with omega = w / (rho (1 - rho)), and its limits at the ends."""
    rho = sum(r) / len(r)
    w = effective_weight(name, rho, **options)
    if 0 < rho < 1:
        omega = w / (rho * (1 - rho))
        return [omega * (x - rho) for x in r]
    if rho == 0:
        return [-w for _ in r]  # limit: omega * (0 - rho) = -w / (1 - rho) -> -w(0)
    return [w for _ in r]  # rho == 1: omega * (1 - rho) = w / rho -> w(1)


def kae_group(r, step, history, bandwidth, kernel="triangular", decay=0.5):
    """Paper C's leave-one-out Nadaraya-Watson baseline; ``history`` is a list of (iteration, reward)."""
    def k(u):
        return max(1 - u, 0.0) if kernel == "triangular" else decay ** abs(u)

    out = []
    for g in range(len(r)):
        num = sum(k((step - i) / (step * bandwidth)) * z for i, z in history)
        den = sum(k((step - i) / (step * bandwidth)) for i, _ in history)
        num += k(0) * sum(r[j] for j in range(len(r)) if j != g)
        den += k(0) * (len(r) - 1)
        out.append(r[g] - num / den if den > 0 else r[g])
    return out


#: Oracles of the entries whose formula is not a weight w(rho): name -> f(r, **options).
GROUP_ORACLES = {
    "reinforce": lambda r: list(r),
    "grpo": lambda r, convention="verl": grpo_group(r, convention),
    "dapo": lambda r, convention="verl": grpo_group(r, convention),
    "dr_grpo": dr_grpo_group,
    "rloo": rloo_group,
}


def oracle(name, r, **options):
    """Dispatch one group to its oracle: a weight entry (by the registry's declared family) goes
    through its w in :data:`WEIGHTS`, every other stateless entry through :data:`GROUP_ORACLES`.
    A registry entry without an oracle raises KeyError (the contract suite checks there is none)."""
    from theory.estimators import ESTIMATORS  # only the family is read; no formula is shared

    if ESTIMATORS[name].family == "weight":
        return asymmetric_group(name, r, **options)
    return GROUP_ORACLES[name](r, **options)


def softmax(z):
    """Plain-Python softmax (max-shifted), the oracle of the simulators' ``_softmax``."""
    m = max(z)
    e = [math.exp(x - m) for x in z]
    tot = 0.0
    for x in e:
        tot += x
    return [x / tot for x in e]


def categorical(pi, u):
    """Plain inverse-CDF search: the smallest k with pi[0] + ... + pi[k] > u over the k with
    pi[k] > 0 (the last such k on round-off), the oracle of the simulators' categorical draws."""
    c, last = 0.0, 0
    for j, x in enumerate(pi):
        if x > 0.0:
            last = j
            c += x
            if c > u:
                return j
    return last
