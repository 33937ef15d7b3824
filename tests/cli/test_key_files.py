"""Key files are private: one readable or writable by group or others is refused with one line naming the
file and the chmod to run (as ssh does), for the wallet key of every command and the meter's key; the files
`keys new` writes are 0600 whatever the umask."""
import json
import os
import stat
import subprocess
import sys

import pytest

import contracts
from solders.keypair import Keypair

from solmeter.errors import ConfigError
from solmeter.keys import load_keypair, write_keypair


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "solmeter.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def _key_file(path, mode: int):
    path.write_text(json.dumps(list(bytes(Keypair()))))
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620, 0o602, 0o666])
def test_a_key_file_group_or_others_can_touch_is_refused(tmp_path, mode):
    p = _key_file(tmp_path / "id.json", mode)
    with pytest.raises(ConfigError) as e:
        load_keypair(p)
    msg = str(e.value)
    assert str(p) in msg and f"chmod 600 {p}" in msg and f"{mode:04o}" in msg and "\n" not in msg


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_an_owner_only_key_file_loads(tmp_path, mode):
    kp = Keypair()
    p = tmp_path / "id.json"
    p.write_text(json.dumps(list(bytes(kp))))
    os.chmod(p, mode)
    assert load_keypair(p).pubkey() == kp.pubkey()


def test_the_committed_localnet_program_key_is_public_by_design():
    assert stat.S_IMODE(contracts.PROGRAM_KEYPAIR.stat().st_mode) & 0o077  # as git checks it out
    assert str(load_keypair(contracts.PROGRAM_KEYPAIR).pubkey()) == contracts.DEFAULT_PROGRAM_ID


def test_keys_new_writes_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        p = tmp_path / "new.json"
        write_keypair(p)
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        lax = _key_file(tmp_path / "lax.json", 0o666)
        write_keypair(lax, overwrite=True)  # --force over a lax file tightens it
        assert stat.S_IMODE(lax.stat().st_mode) == 0o600
    finally:
        os.umask(old)
    r = run("keys", "new", str(tmp_path / "cli.json"))
    assert r.returncode == 0 and stat.S_IMODE((tmp_path / "cli.json").stat().st_mode) == 0o600


def test_provider_and_meter_commands_refuse_a_lax_key_in_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    wallet = _key_file(data / "id.json", 0o644)
    env = {"SOLMETER_DATA_DIR": str(data), "HOME": str(tmp_path)}
    jobs = tmp_path / "jobs.json"
    jobs.write_text("[]")
    r = run("agent", "gpu", "--jobs", str(jobs), "--api", "http://127.0.0.1:9", "--once", env=env)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert str(wallet) in r.stderr and f"chmod 600 {wallet}" in r.stderr
    os.chmod(wallet, 0o600)
    meter = _key_file(data / "meter.json", 0o640)
    r = run("meter", "seal", env=env)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert str(meter) in r.stderr and f"chmod 600 {meter}" in r.stderr
