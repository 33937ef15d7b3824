"""The committed program is SBPF v3, deploys through the upgradeable loader on devnet's feature set
(SIMD-0500: v0-v2 deployments refused) and mainnet's, and runs there; a v0 build is refused on devnet's
exactly as devnet refuses it. Deployment uses the transactions `solana program deploy` sends
(contracts/deploy_local.py: buffer, chunked writes, DeployWithMaxDataLen). Needs solders >= 0.29 except
for the static checks of the committed image.
"""
from __future__ import annotations

import io

import pytest
from elftools.elf.elffile import ELFFile
from toolchain_support import ASM, MEMO_PROGRAM, Svm, code_segment, v3_calls

from contracts import PROGRAM_SO
from contracts.toolchain import relink

CLUSTERS = ["devnet", "mainnet"]


def test_committed_program_is_sbpf_v3():
    image = PROGRAM_SO.read_bytes()
    elf = ELFFile(io.BytesIO(image))
    assert elf["e_flags"] == 3, f"{PROGRAM_SO} is SBPF v{elf['e_flags']}: rebuild with scripts/build_program.py"
    assert [(s["p_type"], s["p_flags"], s["p_vaddr"]) for s in elf.iter_segments()] == [
        ("PT_LOAD", 4, 0), ("PT_LOAD", 1, 1 << 32)]
    assert not any(s["sh_type"] in ("SHT_REL", "SHT_DYNAMIC", "SHT_DYNSYM") for s in elf.iter_sections())


def test_committed_program_calls_stay_inside_its_code():
    """Every internal call (src=1) lands on an instruction of the code segment (v3 checks this only at
    run time, when the call executes)."""
    n = len(code_segment(PROGRAM_SO.read_bytes())) // 8
    _, targets = v3_calls(PROGRAM_SO.read_bytes())
    assert targets and all(0 <= t < n for t in targets)


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_committed_program_deploys_and_runs(v3_runtime, cluster):
    svm = Svm(None, cluster)
    deployed = svm.deploy(PROGRAM_SO.read_bytes())
    assert deployed.ok, deployed.logs
    assert any(line.startswith("Deployed program") for line in deployed.logs), deployed.logs
    out = svm.run(b"")  # no instruction: the program's own error, logged by name through sol_log_
    assert "Program log: UnknownInstruction" in out.logs, out.logs
    assert "Custom(6000)" in out.error


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_deployed_v3_fixture_runs_its_syscalls_and_calls(v3_runtime, cluster):
    """The relocation fixture and the syscall probe deployed (not add_program'ed) behave the same."""
    svm = Svm(None, cluster)
    assert svm.deploy(relink((ASM / "relocs.o").read_bytes())[0]).ok
    assert svm.run(bytes([2])).ok and "Custom(7)" in svm.run(bytes([3])).error
    assert svm.deploy(relink((ASM / "syscalls.o").read_bytes())[0]).ok
    cpi = svm.run(b"", readonly=[MEMO_PROGRAM])
    assert cpi.ok, cpi.logs


@pytest.mark.parametrize("cluster,refused", [("devnet", True), ("mainnet", False)])
def test_v0_deployment_is_refused_on_devnet_only(v3_runtime, cluster, refused):
    """Why the default is v3: SIMD-0500 refuses DeployWithMaxDataLen of a v0 program (InvalidAccountData,
    the loader naming the version) while mainnet, where the gate is not active yet, still deploys it."""
    svm = Svm(None, cluster)
    out = svm.deploy(relink((ASM / "relocs.o").read_bytes(), 0)[0])
    if refused:
        assert not out.ok and "InvalidAccountData" in out.error
        assert any("sbpf_version" in line for line in out.logs), out.logs
    else:
        assert out.ok, out.logs
        assert svm.run(bytes([2])).ok
