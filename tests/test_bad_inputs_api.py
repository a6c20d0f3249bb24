"""Bad inputs to the public API of theory/ and simulate/: every one is a ``ValueError`` whose message
names the parameter and its valid range (issue 9, section 4). Not a traceback from deep inside
NumPy, not a silently wrong number, not a message without the parameter's name.

Each case is (id, call, pattern): the call must raise ValueError and ``pattern`` (a regex naming
the parameter and its domain) must match the message. The battery covers classes of input, not
single functions: complex, ragged, string and None arrays; NaN/inf and finite-but-huge values;
negative counts and sizes; wrong types (a string where a Verifier is due); unknown names and
options; values outside a probability or a documented range.
"""

import numpy as np
import pytest

from theory import budget as B
from theory import budget_bounds as BB
from theory import composition as C
from theory import composition_dynamics as CD
from theory import curriculum as CU
from theory import stats as ST
from theory import weighting as W
from theory import weighting_finite as WF
from theory import estimators as E
from theory import kernel as KT
from simulate import budget as SB
from simulate import budget_casestudy as SC
from simulate import budget_sweep as SS
from simulate import composition as SCO
from simulate import curriculum as SCU
from simulate import kernel as SK
from simulate import weighting as SW
from simulate import weighting_targets as SWT

R = [[1.0, 0.0, 0.0, 1.0]]
PI = np.full((2, 3), 1 / 3)
V = C.mod_verifier(2)
D = SB.difficulty_population(4, 0.5)
KAE = dict(prompt_ids=[0], step=1)
PG = dict(d=D, theta0=0.0, H=16, G=4, n_iter=2)

CASES = [
    # --- the registry (theory.estimators) --------------------------------------------------------
    ("rewards-complex", lambda: E.advantages("grpo", [[1 + 2j, 0.0]]), r"rewards must hold real numbers"),
    ("rewards-ragged", lambda: E.advantages("grpo", [[1.0, 0.0], [1.0]]), r"rewards must be a rectangular array"),
    ("rewards-strings", lambda: E.advantages("grpo", [["1", "0"]]), r"rewards must hold real numbers"),
    ("rewards-one-string", lambda: E.advantages("grpo", "1,0"), r"rewards must hold real numbers"),
    ("rewards-none", lambda: E.advantages("grpo", [[None, 1.0]]), r"rewards must hold real numbers"),
    ("rewards-nan", lambda: E.advantages("grpo", [[np.nan, 1.0]]), r"rewards must be finite"),
    ("rewards-huge", lambda: E.advantages("grpo", [[1e308, -1e308]]), r"rewards must lie in \[-1e\+?150, 1e\+?150\]"),
    ("rewards-huge-rloo", lambda: E.advantages("rloo", [[1e200, 0.0]]), r"rewards must lie in \[-1e\+?150"),
    ("rewards-rank3", lambda: E.advantages("grpo", np.zeros((1, 2, 2))), r"rewards must be a 2-D array"),
    ("rewards-empty", lambda: E.keep_mask("dapo", np.zeros((0, 4))), r"rewards must have num_prompts >= 1"),
    ("rewards-weight-range", lambda: E.advantages("linear_r", [[2.0, 0.0]]), r"rewards must lie in \[0, 1\]"),
    ("name-int", lambda: E.advantages(3, R), r"estimator name must be one of \["),
    ("name-list", lambda: E.advantages(["grpo"], R), r"estimator name must be one of \["),
    ("family-array", lambda: E.names(np.array(["weight", "std"])), r"family must be one of"),
    ("kae-option-typo", lambda: E.advantages("kae", R, state=E.new_state("kae"), bandwith=0.3, **KAE),
     r"unknown option\(s\) \['bandwith'\] for estimator 'kae'; accepted: .*bandwidth"),
    ("grpo-option-typo", lambda: E.advantages("grpo", R, epsilon=1e-6), r"unknown option\(s\) \['epsilon'\].*accepted"),
    ("eps-string", lambda: E.advantages("grpo", R, eps="1e-6"), r"eps must be a finite real number >= 0"),
    ("ddof-fraction", lambda: E.advantages("grpo", R, ddof=0.5), r"ddof must be an integer in \[0, 1\]"),
    ("convention-list", lambda: E.advantages("grpo", R, convention=["verl"]), r"convention must be one of \["),
    ("rho-star-nan", lambda: E.advantages("plateau_r", R, rho_star=float("nan")), r"rho_star must be a finite real number in \[0"),
    ("kae-missing-state", lambda: E.advantages("kae", R, **KAE), r"needs \['state'\]|history must be"),
    ("kae-kernel-none", lambda: E.advantages("kae", R, state=E.new_state("kae"), kernel=None, **KAE), r"kernel must be one of"),
    ("kae-step-float", lambda: E.advantages("kae", R, state=E.new_state("kae"), prompt_ids=[0], step=1.5), r"step must be an integer >= 1"),
    ("kae-capacity", lambda: E.new_state("kae", capacity=0), r"capacity must be an integer >= 1"),
    ("kae-state-dict", lambda: E.state_from_dict("kae", {"format": "pickle"}), r"state must be a dict written by KernelHistory.to_dict"),
    ("group-size-float", lambda: E.prompt_weight("grpo", [0.5], 2.5), r"group_size must be an integer >= 1"),
    ("rho-hat-string", lambda: E.prompt_weight("grpo", "half", 4), r"rho_hat must hold real numbers"),
    ("rho-ragged", lambda: E.effective_weight("linear_r", [[0.1], [0.2, 0.3]]), r"rho must be a rectangular array"),
    ("rho-complex", lambda: E.effective_weight("linear_r", 0.5 + 0.5j), r"rho must hold real numbers"),
    ("rho-out-of-range", lambda: E.effective_weight("grpo", [1.5]), r"rho must lie in \[0, 1\]"),
    ("estimate-options-before-rewards", lambda: E.estimate("grpo", "junk", ddof=7), r"ddof must be an integer in \[0, 1\]"),
    # --- paper A theory (theory.budget, theory.budget_bounds) --------------------------------------
    ("xi-negative", lambda: B.success_probability(-1.0), r"xi must be finite and > 0"),
    ("xi-string-number", lambda: B.success_probability("2"), r"xi must hold real numbers"),
    ("xi-string", lambda: B.success_probability("abc"), r"xi must hold real numbers"),
    ("xi-complex", lambda: B.anti_concentration(1 + 1j, 0.1), r"xi must hold real numbers"),
    ("xi-none", lambda: B.binary_reward_moments(None), r"xi must hold real numbers"),
    ("K-zero", lambda: B.success_probability(1.0, K=0), r"K must be an integer >= 1"),
    ("K-float", lambda: B.success_probability(1.0, K=2.5), r"K must be an integer >= 1"),
    ("H-zero", lambda: B.hazard_for_budget(2.0, 0), r"H must be finite and > 0"),
    ("mean-T-string", lambda: B.relative_budget(100, [1.0, "x"]), r"mean_T must hold real numbers"),
    ("p-above-one", lambda: B.discrete_success_probability(1.5, 10), r"p must lie in \[0, 1\]"),
    ("H-fraction", lambda: B.discrete_success_probability(0.1, 10.5), r"H must be an integer >= 1"),
    ("G-zero", lambda: B.informative_probability(0.5, 0), r"G must be an integer >= 1"),
    ("reward-kind", lambda: B.informative_probability(0.5, 8, reward="ternary"), r"reward must be one of"),
    ("eps-negative", lambda: B.anti_concentration(1.0, -0.1), r"eps must be a finite real number >= 0"),
    ("thresholds", lambda: B.regime(1.0, deficient_below=-1.0), r"deficient_below must be a finite real number > 0"),
    ("m-above-one", lambda: B.graded_mean_inverse(1.5), r"m must .*\(0, 1\)"),
    ("xi-inf", lambda: B.graded_reward_moments(np.inf), r"xi must be finite and > 0"),
    ("H-discrete-moments", lambda: B.discrete_reward_moments(0.5, 0), r"H must be an integer >= 1"),
    ("kappa-zero", lambda: BB.required_samples_bound(1.0, kappa=0.0), r"kappa must be a finite real number (> 0|in \(0)"),
    ("n-iter-negative", lambda: BB.case_study_recursion(1.0, -1), r"n_iter must be an integer >= [01]"),
    ("sigma-negative", lambda: BB.case_study_step(1.0, -0.5), r"sigma_over_H must be a finite real number >= 0"),
    ("kappa-xi-nan", lambda: BB.case_study_kappa(float("nan")), r"xi must be finite and > 0"),
    ("kappa-max-nan", lambda: BB.case_study_kappa(1.0, kappa_max=float("nan")), r"kappa_max must be a finite real number > 0"),
    ("kappa-max-string", lambda: BB.case_study_kappa(1.0, kappa_max="1"), r"kappa_max must be a finite real number > 0"),
    # --- paper C theory (theory.kernel) ----------------------------------------------------------
    ("bias-order-h-nan", lambda: KT.bias_order(float("nan"), 100), r"h must be finite and > 0"),
    ("bias-order-i-none", lambda: KT.bias_order(0.1, None), r"i must hold real numbers"),
    ("variance-order-n-nan", lambda: KT.variance_order(float("nan"), 0.1), r"n must be finite and >= 1"),
    ("bandwidth-n-string", lambda: KT.optimal_bandwidth("1000"), r"n must hold real numbers"),
    ("nw-variance-v-array", lambda: KT.nw_variance([0.3, 0.4], [1.0]), r"v must be a real number in \[0, 1\]"),
    ("nw-weights-string", lambda: KT.nw_variance(0.3, "1"), r"weights must hold real numbers"),
    # --- paper B theory (theory.weighting, theory.weighting_finite) -------------------------------
    ("omega-rho-zero", lambda: W.population_omega("linear_r", 0.0), r"rho must lie in \(0, 1\)"),
    ("omega-rho-string", lambda: W.population_omega("linear_r", "0.5"), r"rho must hold real numbers"),
    ("surrogate-name", lambda: W.surrogate("nope", 0.5), r"name must be one of \["),
    ("eta-zero", lambda: W.time_to_target("grpo", 0.1, 0.9, eta=0.0), r"eta must be a finite real number > 0"),
    ("method", lambda: W.time_to_target("grpo", 0.1, 0.9, method="exact"), r"method must be one of"),
    ("name-array", lambda: W.surrogate(np.array(["grpo", "rloo"]), 0.5), r"name must be one of"),
    ("n-steps-negative", lambda: W.recursion_path("grpo", 0.1, -1, 0.1), r"n_steps must be an integer >= 0"),
    ("n-steps-fraction", lambda: W.recursion_path("grpo", 0.1, 2.5, 0.1), r"n_steps must be an integer >= 0"),
    ("step-nan", lambda: W.recursion_path("grpo", 0.1, 5, float("nan")), r"step must be a finite real number > 0"),
    ("scale-negative", lambda: W.recursion_path("grpo", 0.1, 5, 0.1, scale=-1.0), r"scale must be a finite real number > 0"),
    ("max-steps", lambda: W.recursion_time("grpo", 0.1, 0.9, 0.1, max_steps=0), r"max_steps must be an integer >= 1"),
    ("budget-negative", lambda: W.budget_scale("grpo", 0.1, 0.9, budget=-1.0), r"budget must be a finite real number > 0"),
    ("cost-negative", lambda: W.optimal_weight(0.5, cost=(1.0, -1.0)), r"cost b must be a finite real number >= 0"),
    ("interval-reversed", lambda: W.lower_bound(0.9, 0.1), r"rho1 must be > rho0"),
    ("clock-name", lambda: W.time_for_weight(lambda r: 1.0, 0.1, 0.9, clock="wall"), r"clock must be one of"),
    ("omega-not-callable", lambda: W.time_for_weight(2.0, 0.1, 0.9), r"omega must be a callable"),
    ("max-refill-fraction", lambda: WF.finite_group_drift("grpo", 0.5, 4, max_refill=1.5), r"max_refill must be an integer >= 0"),
    ("finite-step-zero", lambda: WF.finite_group_time("grpo", 0.1, 0.9, 4, 0.0), r"step must be a finite real number > 0"),
    ("finite-name-kae", lambda: WF.group_terms("kae", 0.5, 4), r"name must be one of \["),
    # --- paper E theory (theory.composition, theory.composition_dynamics) ------------------------
    ("verifier-string", lambda: C.task_advantage_ratio(PI, "mod3"), r"verifier must be a theory.composition.Verifier"),
    ("ratio-method", lambda: C.task_advantage_ratio(PI, V, method="mc"), r"method must be one of"),
    ("S-zero", lambda: C.mod_verifier(0), r"S must be an integer >= 1"),
    ("K-one", lambda: C.and_verifier(2, K=1), r"K must be an integer >= 2"),
    ("p0-above-one", lambda: C.symmetric_base(1.5, 2), r"p0 must lie in"),
    ("chain-entry", lambda: C.chain_value(V, [0, 5]), r"chain must .*in \[0, 2\]"),
    ("chain-length", lambda: C.chain_value(V, [0]), r"chain must hold S = 2 tasks"),
    ("and-steps-scalar", lambda: C.and_verifier(3, steps=1), r"steps must be a sequence of integers"),
    ("offsets-fraction", lambda: C.mod_verifier(2, 3, offsets=[0, 1.5, 2]), r"offsets\[i\] must be an integer"),
    ("offsets-scalar", lambda: C.mod_verifier(2, 3, offsets=0), r"offsets must be a sequence of integers"),
    ("and-marginals-steps", lambda: C.and_marginals(PI, steps=[-1]), r"steps\[i\] must be an integer in \[0, 1\]"),
    ("mod-marginals-modulus", lambda: C.mod_marginals(PI, 0), r"modulus must be an integer >= 2"),
    ("mod-marginals-offsets", lambda: C.mod_marginals(PI, 3, offsets=[0, 1]), r"offsets must have length K = 3"),
    ("ratio-marginals-scalar", lambda: C.ratio_from_marginals(0.5, PI), r"pi must be an array of rank 2"),
    ("ratio-marginals-nan", lambda: C.ratio_from_marginals(PI, np.full((2, 3), np.nan)), r"qplus must be finite"),
    ("policy-rows", lambda: C.check_policy([[0.5, 0.6]], 1, 2), r"pi rows must sum to 1"),
    ("policy-string", lambda: C.check_policy("uniform", 1, 2), r"pi must hold real numbers"),
    ("marginals-string", lambda: C.step_marginals("x", V), r"pi must hold real numbers"),
    ("factor-G", lambda: CD.gradient_factor("grpo", 0.5, 0), r"G must be an integer >= 1"),
    ("factor-kae", lambda: CD.gradient_factor("kae", 0.5, 4), r"estimator 'kae' is stateful"),
    ("factor-estimator-array", lambda: CD.gradient_factor(np.array(["grpo"]), 0.5, 4), r"estimator must be one of"),
    ("update-lr", lambda: CD.expected_update(PI, V, "grpo", G=4, lr=-1.0), r"lr must be a finite real number >= 0"),
    ("update-verifier", lambda: CD.expected_update(PI, "mod3"), r"verifier must be a theory.composition.Verifier"),
    ("threshold-S", lambda: CD.mod3_threshold(0), r"S must be an integer >= 1"),
    ("outcome-p0", lambda: CD.predicted_mod3_outcome(1.5, 2), r"p0 must lie in"),
    ("positive-margin", lambda: CD.uniformly_positive(np.ones((2, 2, 3)), margin=float("nan")), r"margin must be a finite real number"),
    ("sign-tol", lambda: CD.sign_agreement(np.ones((2, 3)), PI, PI, tol=-1.0), r"tol must be a finite real number >= 0"),
    # --- statistics (theory.stats) ---------------------------------------------------------------
    ("wilson-k-gt-n", lambda: ST.wilson_ci(5, 3), r"k must be an integer in \[0, 3\]"),
    ("bootstrap-n", lambda: ST.bootstrap_ci([1.0, 2.0], n_boot=0), r"n_boot must be an integer >= 1"),
    ("mean-se-strings", lambda: ST.mean_se(["a"]), r"x must hold real numbers"),
    ("mean-ci-strings", lambda: ST.mean_ci(["a", "b"]), r"x must hold real numbers"),
    ("bootstrap-scalar", lambda: ST.bootstrap_ci(1.0), r"samples must be an array with at least one axis"),
    ("bootstrap-axis", lambda: ST.bootstrap_ci([1.0, 2.0], axis=1), r"axis must be an integer in \[-1, 0\]"),
    ("bootstrap-statistic", lambda: ST.bootstrap_ci([1.0, 2.0], "mean"), r"statistic must be a callable"),
    ("bootstrap-seed", lambda: ST.bootstrap_ci([1.0, 2.0], seed=2.5), r"seed must be an integer >= 0"),
    ("fit-level-nan", lambda: ST.fit_line([1, 2, 3], [1, 2, 4], level=float("nan")), r"level must be a finite real number in \(0"),
    ("fit-y-strings", lambda: ST.fit_line([1, 2, 3], ["a", "b", "c"]), r"y must hold real numbers"),
    # --- paper A simulator (simulate.budget*) ----------------------------------------------------
    ("population-xi-H", lambda: SB.population_xi(0.0, [0.0], H=-1), r"H must be an integer >= 1"),
    ("population-xi-K", lambda: SB.population_xi(0.0, [0.0], H=10, K=0), r"K must be an integer >= 1"),
    ("population-xi-theta", lambda: SB.population_xi("a", [0.0], 10), r"theta must hold real numbers"),
    ("population-xi-d", lambda: SB.population_xi(0.0, [[0.0], [1.0, 2.0]], 10), r"d must be a rectangular array"),
    ("accuracy-H-eval", lambda: SB.accuracy(0.0, [0.0], 0), r"H_eval must be an integer >= 1"),
    ("difficulty-P", lambda: SB.difficulty_population(0), r"P must be an integer >= 1"),
    ("theta-for-budget-H", lambda: SB.theta_for_budget(1.0, [0.0], 0), r"H must be an integer >= 1"),
    ("pg-d-complex", lambda: SB.simulate_policy_gradient(**{**PG, "d": np.array([1 + 1j])}), r"d must hold real numbers"),
    ("pg-d-matrix", lambda: SB.simulate_policy_gradient(**{**PG, "d": [[0.0]]}), r"d must be an array of rank 1"),
    ("pg-kae", lambda: SB.simulate_policy_gradient(**PG, estimator="kae"), r"estimator 'kae' is stateful"),
    ("pg-option", lambda: SB.simulate_policy_gradient(**PG, bandwidth=0.2), r"unknown option\(s\) \['bandwidth'\]"),
    ("pg-G", lambda: SB.simulate_policy_gradient(**{**PG, "G": 0}), r"G must be an integer >= 1"),
    ("pg-estimator-array", lambda: SB.simulate_policy_gradient(**PG, estimator=np.array(["grpo"])),
     r"estimator name must be one of"),
    ("sweep-H", lambda: SB.simulate_sweep(d=D, theta0=[0.0], H=[64.5], seed=[0]), r"H must hold integers >= 1"),
    ("case-study-n", lambda: SC.gamma_graded_rewards(-1, 1.0), r"n must be an integer >= 1"),
    ("case-study-xi0", lambda: SC.simulate_case_study(-1.0, 5), r"xi0 must be a finite real number > 0"),
    ("sweep-mode", lambda: SS.efficiency_sweep([1.0], [0], mode="tokens"), r"mode must be (one of|'horizon' or)"),
    ("sweep-xi-grid", lambda: SS.samples_needed([0.0], 0), r"xi_grid must hold finite values > 0"),
    ("sweep-seeds-empty", lambda: SS.efficiency_sweep([1.0], []), r"seeds must hold at least one seed"),
    ("sweep-mean-T-base", lambda: SS.efficiency_sweep([1.0], [0], mean_T_base=0.0), r"mean_T_base must be a finite real number > 0"),
    ("sweep-H-fixed", lambda: SS.efficiency_sweep([1.0], [0], mode="difficulty", H_fixed=None), r"H_fixed must be an integer >= 1"),
    ("sweep-xi-eval", lambda: SS.efficiency_sweep([1.0], [0], xi_eval=float("inf")), r"xi_eval must be a finite real number > 0"),
    ("sweep-n-iter-zero", lambda: SS.efficiency_sweep([1.0], [0], n_iter=0), r"n_iter must be an integer >= 1"),
    ("samples-P", lambda: SS.samples_needed([1.0], 0, P=2.5), r"P must be an integer >= 1"),
    ("samples-n-batches", lambda: SS.samples_needed([1.0], 0, n_batches=0), r"n_batches must be an integer >= 2"),
    ("samples-mean-T-zero", lambda: SS.samples_needed([1.0], 0, mean_T=0.0), r"mean_T must be a finite real number > 0"),
    ("samples-mean-T-below-K", lambda: SS.samples_needed([1.0], 0, K=2, mean_T=1.5), r"mean_T must be > K = 2"),
    ("sweep-seeds", lambda: SS.efficiency_sweep([1.0], ["a"]), r"seeds must hold real numbers|seeds must hold integers"),
    # --- paper B simulator (simulate.weighting*) ---------------------------------------------------
    ("sim-group-size", lambda: SW.simulate("grpo", [0.5], group_size=0, n_steps=1, step=0.1), r"group_size must be an integer >= 1"),
    ("sim-rho0-string", lambda: SW.simulate("grpo", "0.5", group_size=4, n_steps=1, step=0.1), r"rho0 must hold real numbers"),
    ("sim-name", lambda: SW.simulate("kae", [0.5], group_size=4, n_steps=1, step=0.1), r"name must be one of"),
    ("initial-n", lambda: SW.initial_success("from_scratch", 0, 0), r"n must be an integer >= 1"),
    ("hitting-ragged", lambda: SW.hitting_time([[0.1, 0.2], [0.3]], 0.5), r"path must be a rectangular array"),
    ("hitting-target", lambda: SW.hitting_time([0.1, 0.5], "0.5"), r"target must be a finite real number"),
    ("hitting-scalar", lambda: SW.hitting_time(0.3, 0.5), r"path must be an array of rank 1 or 2"),
    ("hitting-nan", lambda: SW.hitting_time([0.1, np.nan, 0.7], 0.5), r"path must be finite"),
    ("effective-time-1d", lambda: SWT.effective_time(np.array([0.1, 0.9]), 0.5, step=0.1), r"path must be an array of rank 2"),
    ("responses-scalar", lambda: SWT.responses_to_target(np.array([[0.1], [0.9]]), 8, 0.5), r"responses must be shaped \(T, P\)"),
    ("responses-nan", lambda: SWT.responses_to_target(np.array([[0.1], [0.9]]), [[np.nan]], 0.5), r"responses must be finite and >= 0"),
    ("responses-rho-nan", lambda: SWT.responses_to_target(np.array([[np.nan], [0.9]]), [[8]], 0.5), r"rho must be finite"),
    ("effective-time-step", lambda: SWT.effective_time(np.array([[0.1], [0.9]]), 0.5, step=0.0), r"step must be a finite real number > 0"),
    ("targets-n-prompts", lambda: SWT.time_to_target_runs("grpo", 0.1, 0.9, group_size=4, n_prompts=0,
                                                         steps_to_target=10, seed=0), r"n_prompts must be an integer >= 1"),
    # --- curriculum simulator (simulate.curriculum) ----------------------------------------------
    ("pool-model", lambda: SCU.make_pool(0, 5, "default"), r"model must be a simulate.curriculum.Model"),
    ("run-model", lambda: SCU.run(1, "random", model=None), r"model must be a simulate.curriculum.Model"),
    ("sweep-models", lambda: SCU.sweep([1], ["random"], [False], [0.5]), r"models\[i\] must be a simulate.curriculum.Model"),
    # --- paper E simulator (simulate.composition) ------------------------------------------------
    ("runs-seeds", lambda: SCO.sampled_runs(PI, V, seeds=[-1]), r"seeds must be a non-empty 1-D array of non-negative integers"),
    ("runs-verifier", lambda: SCO.sampled_runs(PI, "mod3", seeds=[0]), r"verifier must be a theory.composition.Verifier"),
    ("runs-G", lambda: SCO.expected_runs(PI, V, G=0), r"G must be an integer >= 1"),
    ("runs-n-iter", lambda: SCO.expected_runs(PI, V, n_iter=-1), r"n_iter must be an integer >= 0"),
    ("runs-pi0-scalar", lambda: SCO.expected_runs(0.5, V), r"pi0 must have shape \(S, K\) or \(runs, S, K\)"),
    ("runs-pi0-string", lambda: SCO.expected_runs("uniform", V), r"pi0 must hold real numbers|pi must hold real numbers"),
    ("symmetric-base-empty", lambda: C.symmetric_base([], 2), r"p0 must be a real number in \(0, 1\)"),
    # --- budget closed forms of the simulator layer, paper C simulator ------------------------------
    ("population-xi-theta-nan", lambda: SB.population_xi(np.nan, D, 16), r"theta must be finite"),
    ("population-xi-d-empty", lambda: SB.population_xi(0.0, [], 16), r"d must hold at least one value"),
    ("accuracy-d-empty", lambda: SB.accuracy(0.0, [], 16), r"d must hold at least one value"),
    ("accuracy-K", lambda: SB.accuracy(0.0, D, 16, K=0), r"K must be an integer >= 1"),
    ("kernel-baselines-scalar", lambda: SK.simulate(baselines=3), r"baselines must be a non-empty tuple"),
    ("kernel-record-inf", lambda: SK.simulate(record=float("inf")), r"record must be a sequence of integers"),
    ("kernel-record-float", lambda: SK.simulate(n_steps=5, record=[1.5]), r"record\[i\] must be an integer in \[1, 5\]"),
    ("kernel-record-range", lambda: SK.simulate(n_steps=5, record=[6]), r"record\[i\] must be an integer in \[1, 5\]"),
    ("kernel-record-empty", lambda: SK.simulate(n_steps=5, record=[]), r"record must hold at least one iteration"),
    ("curriculum-sweep-seeds-scalar", lambda: SCU.sweep(3, ["random"], [False], [SCU.Model()]), r"seeds must be a 1-D array"),
    ("curriculum-sweep-schemes-str", lambda: SCU.sweep([3], "random", [False], [SCU.Model()]), r"schemes must be a sequence of scheme names"),
    ("curriculum-sweep-weighted-int", lambda: SCU.sweep([3], ["random"], [1], [SCU.Model()]), r"weighted\[i\] must be True or False"),
    ("curriculum-sweep-weighted-scalar", lambda: SCU.sweep([3], ["random"], False, [SCU.Model()]), r"weighted must be a sequence of True/False"),
    ("curriculum-run-weighted", lambda: SCU.run(3, "random", weighted="yes"), r"weighted must be True or False"),
    ("curriculum-run-seed", lambda: SCU.run(-1, "random"), r"seed must be an integer in \[0, "),
    ("entropy-weights-flag", lambda: CU.entropy_weights([1.0, 2.0], [3, 4], token_weighted="no"), r"token_weighted must be True or False"),
    ("sweep-xi-huge", lambda: SS.efficiency_sweep([1e300], [0]), r"xi_grid \* mean_T_base must be at most 2\*\*53"),
    ("samples-xi-huge", lambda: SS.samples_needed([1e300], 0), r"xi_grid \* mean_T must be at most 2\*\*53"),
    ("theta-for-budget-tiny", lambda: SB.theta_for_budget(1e-300, D, 256), r"xi0 must be in \[[0-9.e+-]+, 256\]"),
]


@pytest.mark.parametrize("call,pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_a_value_error_naming_the_parameter(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_battery_is_wide():
    assert len(CASES) >= 100 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("xi,K", [(40.0, 1), (10.0, 8), (1e3, 3), (745.0, 1)])
def test_anti_concentration_binary_is_zero_once_q_rounds_to_one(xi, K):
    """Regression: q rounds to 1.0 there and q + sqrt(q (1 - q) eps) <= 1 held, returning c = 1."""
    assert float(B.success_probability(xi, K)) == 1.0
    assert float(B.anti_concentration(xi, 0.1, K, reward="binary")) == 0.0


@pytest.mark.parametrize("K", [1, 2, 8])
def test_anti_concentration_binary_equals_textbook_form_where_accurate(K):
    """Where 1 - q is computed accurately the complement form equals the textbook condition."""
    xi = np.geomspace(0.01, 3.0, 60)
    eps = 0.1
    q = B.success_probability(xi, K)
    textbook = np.where(q + np.sqrt(q * (1.0 - q) * eps) <= 1.0, q, 0.0)
    np.testing.assert_array_equal(B.anti_concentration(xi, eps, K, reward="binary"), textbook)
    assert float(B.anti_concentration(1.0, 0.0, K, reward="binary")) == pytest.approx(float(B.success_probability(1.0, K)))


def test_huge_but_allowed_rewards_stay_finite():
    """At the documented bound |r| <= 1e150 every estimator's advantages stay finite."""
    r = np.array([[1e150, -1e150, 0.0, 1e150] * 8])
    for name in [n for f in ("raw", "centred", "std") for n in E.names(f)]:  # unbounded-reward families
        assert np.all(np.isfinite(E.advantages(name, r)))


def test_extreme_but_valid_inputs_give_their_limits():
    """Finite inputs at the ends of the domain give the right double, not inf, nan or an overflow."""
    for K, tiny in ((1, 1e-300), (2, 1e-150)):
        m, v = B.graded_reward_moments(np.array([tiny, 1e300]), K)
        lead = (K * tiny) ** K  # E[R]/H -> x0^K / (K+1)!, E[R^2]/H^2 -> 2 x0^K / (K+2)!, x0 = K xi
        assert m[0] == pytest.approx(lead / [2.0, 6.0][K - 1], rel=1e-12) and m[1] == 1.0
        assert v[0] == pytest.approx(2.0 * lead / [6.0, 24.0][K - 1], rel=1e-12) and v[1] == 0.0
    # scale-free forms give the same value for weights or entropies scaled by any amount
    base = KT.nw_variance(0.3, [1.0, 2.0, 3.0])
    for s in (1e-300, 1e300):
        assert KT.nw_variance(0.3, [s, 2 * s, 3 * s]) == pytest.approx(base, rel=1e-15)
    j = CU.entropy_weight_jacobian([1.0, 3.0])
    np.testing.assert_allclose(CU.entropy_weight_jacobian([1e300, 3e300]) * 1e300, j, rtol=1e-15)
    np.testing.assert_allclose(CU.entropy_weight_jacobian([1e-300, 3e-300]) * 1e-300, j, rtol=1e-15)
    # exponential pacing with a rate where e^a overflows: (e^{a rho} - 1) / (e^a - 1) ~ e^{-a (1 - rho)}
    assert CU.pace(0.5, "exponential", rate=1000.0) == pytest.approx(np.exp(-500.0), rel=1e-12)
    assert CU.pace(1.0, "exponential", rate=1e300) == 1.0 and CU.pace(0.0, "exponential", rate=1e300) == 0.0


def test_power_of_two_scaling_keeps_the_bits():
    """nw_variance and entropy_weight_jacobian scale by a power of two: ordinary inputs give the
    very bits of the plain formulas."""
    w = np.array([0.3, 1.7, 2.9, 0.05])
    plain = 0.3 * 0.7 * float(np.sum(w * w)) / float(w.sum()) ** 2
    assert KT.nw_variance(0.3, w) == plain
    h = np.array([0.7, 1.9, 0.4])
    hbar = float(np.full(3, 1 / 3) @ h)
    np.testing.assert_array_equal(CU.entropy_weight_jacobian(h),
                                  np.eye(3) / hbar - np.outer(h, np.full(3, 1 / 3)) / hbar**2)
