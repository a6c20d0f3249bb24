"""Ray core tasks give the same bytes as the serial executor (skipped when Ray is not installed:
`pip install 'rlvr-lab[ray]'`). A local Ray with 2 CPUs, dashboard off, bound to 127.0.0.1."""

import pytest

ray = pytest.importorskip("ray", reason="Ray not installed (optional extra rlvr-lab[ray])")

from rlvr_lab.cli import main  # noqa: E402

FIG = "weighting_zero_signal"  # 18 small units


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[1])}})
    yield
    ray.shutdown()


@pytest.mark.parametrize("threads", [1, 2])
def test_ray_and_serial_write_identical_bytes(tmp_path, local_ray, threads):
    a, b = tmp_path / "serial", tmp_path / "ray"
    assert main(["reproduce", "--only", FIG, "--out", str(a)]) == 0
    assert main(["reproduce", "--only", FIG, "--out", str(b), "--executor", "ray", "--threads", str(threads)]) == 0
    assert (a / "claims.json").read_bytes() == (b / "claims.json").read_bytes()
    assert (a / "data" / f"{FIG}.json").read_bytes() == (b / "data" / f"{FIG}.json").read_bytes()
