"""A GPU agent on a host that sees no GPU refuses to report GPU usage (no H100 hours billed from a laptop),
in one line and exit 1, unless it runs explicitly as a broker for a job runner that sees the GPUs
(`--broker`) or with the fake telemetry selected by name (demos, tests)."""
from __future__ import annotations

import json

import pytest
from solders.keypair import Keypair
from typer.testing import CliRunner

from metering.agents import telemetry
from metering.agents.client import MeterClient
from metering.agents.gpu import GpuAgent, NoGpuError
from metering.agents.jobs import Lease, StaticJobSource
from metering.agents.spool import Spool
from metering.agents.telemetry import FakeTelemetry, NoGpu, NvmlTelemetry
from solmeter.cli import app

CUSTOMER = str(Keypair().pubkey())


def _agent(tmp_path, tel, **kw):
    client = MeterClient("http://127.0.0.1:9", Keypair())
    return GpuAgent(Keypair(), StaticJobSource([Lease("job-1", CUSTOMER, "H100", 1, [0])]), tel,
                    Spool(tmp_path / "spool"), client, **kw)


def test_no_gpu_refuses_to_build_an_agent_and_spools_nothing(tmp_path):
    with pytest.raises(NoGpuError, match=r"no GPU: NVML unavailable.*--broker"):
        _agent(tmp_path, NoGpu("NVML unavailable (driver not loaded)"))
    assert not (tmp_path / "spool").exists() or Spool(tmp_path / "spool").count_events() == 0


class _Nvml:
    class NVMLError(Exception):
        pass

    def __init__(self, n):
        self.n = n

    def nvmlDeviceGetCount(self):
        return self.n


def test_what_counts_as_a_gpu_seen(tmp_path):
    assert not NvmlTelemetry(_Nvml(0)).sees_gpu and NvmlTelemetry(_Nvml(1)).sees_gpu
    with pytest.raises(NoGpuError):
        _agent(tmp_path, NvmlTelemetry(_Nvml(0)))
    _agent(tmp_path, NvmlTelemetry(_Nvml(2)))  # a GPU is seen
    _agent(tmp_path, FakeTelemetry())  # the fake, selected by name
    broker = _agent(tmp_path, NoGpu("NVML unavailable"), broker=True)  # for a runner that sees them
    assert broker.broker


def _run(args):
    r = CliRunner().invoke(app, args)
    if r.exception and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stderr


@pytest.fixture
def cli_env(isolated_env, monkeypatch, tmp_path):
    data = isolated_env / "data"
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(data))
    # This host's NVML, whatever the machine running the test has: unavailable.
    monkeypatch.setattr(telemetry, "open_telemetry", lambda: NoGpu("NVML unavailable (NVML Shared Library Not Found)"))
    assert _run(["keys", "new", str(data / "id.json")])[0] == 0
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps({"leases": [{"lease_id": "job-1", "customer": CUSTOMER, "gpu_class": "H100",
                                            "gpu_count": 1, "gpu_indices": [0]}]}))
    return data, jobs


def test_the_cli_refuses_without_a_gpu_in_one_line(cli_env):
    data, jobs = cli_env
    code, err = _run(["agent", "gpu", "--jobs", str(jobs), "--api", "http://127.0.0.1:9", "--once"])
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("error: no GPU: NVML unavailable") and "--broker" in err
    assert not (data / "spool" / "gpu").exists() or not list((data / "spool" / "gpu").glob("*.json"))


def test_the_cli_reports_as_a_broker_or_with_the_fake_telemetry(cli_env):
    data, jobs = cli_env
    for flag, said in (("--broker", "(broker)"), ("--fake-telemetry", "fake GPU telemetry")):
        code, err = _run(["agent", "gpu", "--jobs", str(jobs), "--api", "http://127.0.0.1:9", flag, "--once"])
        assert code == 2 and said in err, err  # 2: the heartbeat was made and stays spooled (no meter here)
        assert "1 heartbeat(s)" in err
