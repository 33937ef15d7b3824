"""README's "Operate it yourself" block, run verbatim: the one ```bash block of that section is taken from
README.md itself (never a copy), run with bash from the repository root in a fresh HOME, with the ports
it uses by default moved by the settings the CLI honours (SOLMETER_LOCALNET_RPC_PORT, SOLMETER_API_PORT).
Then the chain is read through RPC: every Channel settled (last_seq > 0, settled_amount > 0) and the
tokens moved out of the customer's escrow to the provider. The block's own stop instruction stops every
process it left running; whatever would survive it is killed with the process group and fails the test."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEADING = "## Operate it yourself"
TIMEOUT_S = 560  # within pytest's 600 s; the block gives the settlement 300 s; 97 s idle, 214 s at load 14 (2 cores)


def operate_block(readme: str) -> str:
    """The single ```bash block of the README section named exactly HEADING."""
    parts = re.split(r"(?m)^## ", readme)
    sections = [p for p in parts if p.split("\n", 1)[0].strip() == HEADING[3:]]
    assert len(sections) == 1, f"README.md must have exactly one section named {HEADING!r}"
    blocks = re.findall(r"(?ms)^```bash\n(.*?)^```$", sections[0])
    assert len(blocks) == 1, f"the section {HEADING!r} must hold exactly one ```bash block, found {len(blocks)}"
    return blocks[0]


def _free_ports() -> tuple[int, int]:
    """A JSON-RPC port whose next port (PubSub) is free too, and the meter API's port."""
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            rpc = a.getsockname()[1]
            try:
                with socket.socket() as b, socket.socket() as c:
                    b.bind(("127.0.0.1", rpc + 1))
                    c.bind(("127.0.0.1", 0))
                    return rpc, c.getsockname()[1]
            except OSError:
                continue
    raise AssertionError("no two consecutive free ports on 127.0.0.1")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a member we may not signal is still a member
        return True
    return True


def _wait_group_gone(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return True
        time.sleep(0.2)
    return not _group_alive(pgid)


def _kill_group(pgid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        if _wait_group_gone(pgid, 15):
            return


def test_the_block_is_one_bash_block_on_the_defaults():
    block = operate_block((REPO / "README.md").read_text())
    # the defaults a new user gets: the test moves them with the settings, so the block must not fix them
    for fixed in ("8899", "8900", "8080", "--rpc-port", "--port", "--url", "-u "):
        assert fixed not in block, f"the block names {fixed!r}: it must run on the defaults a new user has"
    assert "solmeter audit all" in block and "kill $(cat" in block.replace("\\$", "$")


def test_operate_it_yourself_runs_verbatim_and_settles(tmp_path):
    from solders.pubkey import Pubkey

    from contracts.client import decode_account_as
    from contracts.client.borsh import discriminator
    from ledger.engine.chain import RpcChain
    from ledger.ops import token

    activate = REPO / ".venv" / "bin" / "activate"
    assert activate.exists(), (f"{activate} is missing: the block runs after `bash scripts/demo.sh`, which "
                               f"installs solmeter into .venv (scripts/test.sh does too)")
    script = tmp_path / "operate.sh"
    script.write_text(operate_block((REPO / "README.md").read_text()))
    home = tmp_path / "home"
    home.mkdir()
    rpc_port, api_port = _free_ports()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOLMETER_", "XDG_", "SOLANA_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(HOME=str(home), SOLMETER_LOCALNET_RPC_PORT=str(rpc_port), SOLMETER_API_PORT=str(api_port))
    log_path = tmp_path / "block.log"
    with open(log_path, "wb") as log:
        # bash -e: the first command that fails stops the block (a user sees it fail the same way)
        proc = subprocess.Popen(["bash", "-e", str(script)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    pgid = proc.pid
    try:
        try:
            rc = proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            rc = None
        out = log_path.read_text(errors="replace")
        tail = "\n".join(out.splitlines()[-40:])
        run_dir = home / "solmeter-run"
        logs = "".join(f"\n--- {p.name} (last lines)\n" + "\n".join(p.read_text(errors="replace").splitlines()[-15:])
                       for p in sorted(run_dir.glob("*.log"))) if run_dir.exists() else ""
        assert rc is not None, f"the block ran over {TIMEOUT_S} s:\n{tail}{logs}"
        assert rc == 0, f"the block failed (exit {rc}):\n{tail}{logs}"
        # `solmeter audit all` exited 0 (bash -e stops at any failure) and said so: every audit CLEAN, or only
        # the newest receipts not yet in a posted batch NOT VERIFIED (--allow-pending); nothing FAILED
        summary = re.search(r"(?m)^== \d+ audits: (all CLEAN|NOT VERIFIED \(.*\); nothing failed)$", out)
        assert summary, tail
        assert not re.search(r"(?m)^  FAIL ", out), tail
        for line in re.findall(r"(?m)^  NOT VERIFIED .*$", out):
            assert "not (yet) committed on-chain" in line, line

        # The chain, read through RPC: every channel settled and the tokens moved
        data_dir = home / ".local" / "share" / "solmeter"
        dep = json.loads((data_dir / "deployment.json").read_text())
        program_id, mint = Pubkey.from_string(dep["program_id"]), Pubkey.from_string(dep["mint"])
        rpc = RpcChain(f"http://127.0.0.1:{rpc_port}")
        channels = [decode_account_as("Channel", a.data)
                    for a in rpc.program_accounts(program_id, memcmp=[(0, discriminator("account", "Channel"))])]
        assert len(channels) == 1, f"expected the block's one channel, found {len(channels)}"
        ch = channels[0]
        assert int(ch.last_seq) > 0 and int(ch.settled_amount) > 0, (int(ch.last_seq), int(ch.settled_amount))
        customer = Pubkey.from_string(str(ch.customer))
        provider = Pubkey.from_string(str(ch.provider))
        from contracts import pda

        escrow = rpc.token_balance(pda.escrow(program_id, customer)[0])
        assert escrow == 50_000_000 - int(ch.settled_amount), "the escrow paid exactly what the channel settled"
        # the provider was minted 100 tokens and staked 10: anything above 90 is its revenue
        assert rpc.token_balance(token.ata(provider, mint)) > 90_000_000

        # The block's own stop instruction stops everything it left running
        stop = re.search(r"stop them: (kill \$\(cat \S+\))", out)
        assert stop, f"the block does not say how to stop what it started:\n{tail}"
        subprocess.run(["bash", "-c", stop.group(1)], env=env, check=True)
        assert _wait_group_gone(pgid, 30), "processes of the block survived its own stop instruction"
    finally:
        _kill_group(pgid)
