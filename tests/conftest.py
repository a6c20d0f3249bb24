"""Test configuration: Hypothesis profiles and shared fixtures.

Profiles: ``ci`` (the default tier: few examples, no deadline because the first call of a Numba
kernel compiles or loads its cache) and ``dev`` (more examples). Select with
``HYPOTHESIS_PROFILE=dev``.
"""

import os

import matplotlib

matplotlib.use("Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
