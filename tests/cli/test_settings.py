"""Settings precedence and clear errors: defaults < Solana CLI config < TOML < environment < flags."""
import json
import os
import stat

import pytest

from solmeter.config import load_settings
from solmeter.errors import ConfigError
from solmeter.keys import load_keypair, write_keypair


def test_defaults_resolve_to_localnet(isolated_env):
    s = load_settings()
    assert s.resolved_rpc_url == "http://127.0.0.1:8899"
    assert s.resolved_ws_url == "ws://127.0.0.1:8900"
    assert s.resolved_database_url.endswith("/solmeter/solmeter.db")
    assert str(s.data_dir).startswith(str(isolated_env / "home"))


def test_each_layer_overrides_the_one_below(isolated_env, monkeypatch):
    (isolated_env / "home" / "solana.yml").write_text(
        "json_rpc_url: https://api.devnet.solana.com\ncommitment: finalized\nkeypair_path: /k/solana.json\n")
    assert load_settings().rpc_url == "https://api.devnet.solana.com"
    assert load_settings().commitment == "finalized"

    toml = isolated_env / "c.toml"
    toml.write_text('rpc_url = "http://10.1.2.3:7000"\napi_port = 9001\n')
    s = load_settings(config_file=toml)
    assert s.rpc_url == "http://10.1.2.3:7000" and s.api_port == 9001
    assert s.resolved_ws_url == "ws://10.1.2.3:7001"
    assert s.commitment == "finalized"  # still from the Solana config

    monkeypatch.setenv("SOLMETER_API_PORT", "9002")
    assert load_settings(config_file=toml).api_port == 9002
    assert load_settings(config_file=toml, api_port=9003).api_port == 9003


def test_monikers(isolated_env):
    assert load_settings(rpc_url="devnet").resolved_rpc_url == "https://api.devnet.solana.com"
    assert load_settings(rpc_url="mainnet-beta").resolved_ws_url == "wss://api.mainnet-beta.solana.com"


@pytest.mark.parametrize(
    "content, needle",
    [('rpc_url = "x', "not valid TOML"), ('nonsense = 1', "unknown setting 'nonsense'"),
     ('api_port = "many"', "api_port")],
)
def test_malformed_toml_names_file_and_problem(isolated_env, content, needle):
    f = isolated_env / "bad.toml"
    f.write_text(content)
    with pytest.raises(ConfigError) as e:
        load_settings(config_file=f)
    assert needle in str(e.value)
    if "TOML" in needle or "unknown" in needle:
        assert str(f) in str(e.value)


def test_missing_explicit_config_file(isolated_env):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_file=isolated_env / "nope.toml")


def test_malformed_solana_config(isolated_env):
    (isolated_env / "home" / "solana.yml").write_text("json_rpc_url: [unclosed\n")
    with pytest.raises(ConfigError, match="solana.yml: not valid YAML"):
        load_settings()


def test_keypair_roundtrip_and_mode(tmp_path):
    p = tmp_path / "k" / "id.json"
    kp = write_keypair(p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert load_keypair(p).pubkey() == kp.pubkey()
    with pytest.raises(ConfigError, match="already exists"):
        write_keypair(p)


@pytest.mark.parametrize(
    "content, needle",
    [("[1,2,3]", "64 integers"), ("{", "not valid JSON"), (json.dumps([300] * 64), "64 integers"),
     (json.dumps([1] * 64), "does not match")],
)
def test_bad_keypair_files(tmp_path, content, needle):
    p = tmp_path / "bad.json"
    p.write_text(content)
    p.chmod(0o600)  # a lax mode is refused before the content is looked at (test_key_files.py)
    with pytest.raises(ConfigError) as e:
        load_keypair(p)
    assert needle in str(e.value) and str(p) in str(e.value)


def test_a_bad_cluster_is_echoed(isolated_env):
    with pytest.raises(ConfigError, match=r"'devnte' is not a cluster: use localnet, devnet"):
        load_settings(rpc_url="devnte")


def test_an_unknown_solmeter_variable_is_warned_about_once(isolated_env, monkeypatch, capsys):
    from solmeter import config
    monkeypatch.setattr(config, "_warned_env", set())
    monkeypatch.setenv("SOLMETER_RPC_ULR", "devnet")
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "d"))  # known: no warning
    load_settings()
    load_settings()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["warning: environment variable SOLMETER_RPC_ULR is not a solmeter setting and is ignored "
                   "(did you mean SOLMETER_RPC_URL?)"]


def test_every_solmeter_variable_the_code_reads_is_known():
    """A new SOLMETER_* variable must be registered (a Settings field or OTHER_ENV_VARIABLES), or the
    unknown-variable warning would fire on it."""
    import re
    from pathlib import Path
    from solmeter.config import known_env_variables
    root = Path(__file__).resolve().parents[2]
    used = set()
    for pkg in ("solmeter", "contracts", "chain", "localnet", "metering", "ledger", "auditor", "dashboard", "scripts",
                "bench", "tests"):
        for f in (root / pkg).rglob("*"):
            if f.suffix in (".py", ".sh") and "node_modules" not in f.parts:
                used |= set(re.findall(r"SOLMETER_[A-Z0-9_]*[A-Z0-9]", f.read_text()))
    used -= {"SOLMETER_RPC_ULR", "SOLMETER_METER"}  # the typo of the test above; "SOLMETER_METER_*" in a comment
    assert sorted(used - known_env_variables()) == []
