"""GPU telemetry behind an interface: NVML (nvidia-ml-py) where a GPU exists, a fake for tests and demos,
and a clear "no GPU" state otherwise. Telemetry is recorded beside heartbeats; it is never billed."""
from __future__ import annotations

from typing import Protocol, Sequence


class GpuTelemetry(Protocol):
    sees_gpu: bool  # a GPU is seen (NVML counts one, or the fake was selected by name): GPU usage may be reported

    def status(self) -> str:
        """One line: what telemetry is available."""

    def sample(self, indices: Sequence[int]) -> list[dict] | None:
        """Readings per GPU index (GpuTelemetry fields of the heartbeat), or None without a GPU."""


class NoGpu:
    sees_gpu = False

    def __init__(self, reason: str):
        self.reason = reason

    def status(self) -> str:
        return f"no GPU: {self.reason}"

    def sample(self, indices: Sequence[int]) -> list[dict] | None:
        return None


class FakeTelemetry:
    sees_gpu = True  # only ever chosen explicitly (`--fake-telemetry`, tests): stands for a GPU

    def __init__(self, utilization_pct: int = 50, memory_total_bytes: int = 80 << 30):
        self.util = utilization_pct
        self.mem = memory_total_bytes

    def status(self) -> str:
        return "fake GPU telemetry"

    def sample(self, indices: Sequence[int]) -> list[dict] | None:
        return [{"index": i, "utilization_pct": self.util, "memory_used_bytes": self.mem // 2,
                 "memory_total_bytes": self.mem, "temperature_c": 60, "power_mw": 300_000} for i in indices]


class NvmlTelemetry:
    def __init__(self, nvml):
        self.nvml = nvml
        self.count = nvml.nvmlDeviceGetCount()
        self.sees_gpu = self.count > 0

    def status(self) -> str:
        return f"NVML: {self.count} GPU(s)"

    def sample(self, indices: Sequence[int]) -> list[dict] | None:
        n = self.nvml
        out = []
        for i in indices:
            if not 0 <= i < self.count:
                continue
            try:
                h = n.nvmlDeviceGetHandleByIndex(i)
                util = n.nvmlDeviceGetUtilizationRates(h)
                mem = n.nvmlDeviceGetMemoryInfo(h)
                out.append({"index": i, "utilization_pct": int(util.gpu), "memory_used_bytes": int(mem.used),
                            "memory_total_bytes": int(mem.total),
                            "temperature_c": int(n.nvmlDeviceGetTemperature(h, n.NVML_TEMPERATURE_GPU)),
                            "power_mw": int(n.nvmlDeviceGetPowerUsage(h))})
            except n.NVMLError:
                continue  # one unreadable GPU does not stop the heartbeat
        return out


def open_telemetry() -> GpuTelemetry:
    """NVML if the library and a driver with at least one GPU are present, else NoGpu saying why."""
    try:
        import pynvml  # local: nvidia-ml-py is optional (hardware); only a GPU agent loads it
    except ImportError:
        return NoGpu("nvidia-ml-py is not installed")
    try:
        pynvml.nvmlInit()
        if pynvml.nvmlDeviceGetCount() == 0:
            return NoGpu("NVML reports no GPUs")
        return NvmlTelemetry(pynvml)
    except pynvml.NVMLError as e:
        return NoGpu(f"NVML unavailable ({e})")
