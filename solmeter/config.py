"""Settings: built-in defaults < Solana CLI config.yml < solmeter TOML file < SOLMETER_* environment < flags.

- The Solana CLI config (~/.config/solana/cli/config.yml, or $SOLANA_CONFIG) contributes json_rpc_url,
  websocket_url, keypair_path and commitment when present, as the solana tools do.
- The solmeter TOML file is --config (load_settings' config_file, or flags.config), else $SOLMETER_CONFIG, else
  <data_dir>/config.toml (--data-dir, else $SOLMETER_DATA_DIR, else the default), else ~/.config/solmeter/config.toml;
  keys are the Settings field names (flat, e.g. `rpc_url = "devnet"`).
- rpc_url takes a cluster moniker (localnet, devnet, testnet, mainnet-beta) or any http(s) URL.
A missing or malformed file that was asked for explicitly, or a malformed one found by default, is a ConfigError
naming the file and the problem.
"""
from __future__ import annotations

import contextvars
import difflib
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal, Mapping
from urllib.parse import urlparse, urlunparse

import yaml
from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from contracts import DEFAULT_PROGRAM_ID, DEPLOYMENT_FILE

from .errors import ConfigError
from .flags import GlobalFlags

MONIKERS = {
    "devnet": "https://api.devnet.solana.com",
    "testnet": "https://api.testnet.solana.com",
    "mainnet-beta": "https://api.mainnet-beta.solana.com",
}
# the Solana CLI's short forms (`-u d`, `-ul`, ...) and `localhost`
SHORT_MONIKERS = {"d": "devnet", "t": "testnet", "m": "mainnet-beta", "l": "localnet", "localhost": "localnet"}
_SOLANA_KEYS = {"json_rpc_url": "rpc_url", "websocket_url": "ws_url", "keypair_path": "keypair_path",
                "commitment": "commitment"}
_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar("solmeter_config_file", default=None)
# the data directory of the --data-dir flag: where <data_dir>/config.toml is looked for (above $SOLMETER_DATA_DIR)
_data_dir: contextvars.ContextVar[Path | None] = contextvars.ContextVar("solmeter_data_dir", default=None)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "solmeter"


def solana_cli_config_path() -> Path:
    env = os.environ.get("SOLANA_CONFIG")
    return Path(env).expanduser() if env else Path.home() / ".config" / "solana" / "cli" / "config.yml"


def read_solana_cli_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, OSError) as e:
        raise ConfigError(f"Solana CLI config {path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Solana CLI config {path}: expected a mapping of settings")
    return {ours: data[theirs] for theirs, ours in _SOLANA_KEYS.items() if data.get(theirs)}


def read_toml_config(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path}: not valid TOML ({e})") from None
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting {unknown[0]!r}")
    return data


def _find_toml(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    env = os.environ.get("SOLMETER_CONFIG")
    if env:
        return Path(env).expanduser()
    data_dir = Path(_data_dir.get() or os.environ.get("SOLMETER_DATA_DIR") or default_data_dir()).expanduser()
    for cand in (data_dir / "config.toml", Path.home() / ".config" / "solmeter" / "config.toml"):
        if cand.exists():
            return cand
    return None


class _FileSource(PydanticBaseSettingsSource):
    """Reads the Solana CLI YAML or the solmeter TOML, whichever this instance is for."""

    def __init__(self, settings_cls, kind: str):
        super().__init__(settings_cls)
        self.kind = kind

    def get_field_value(self, field: FieldInfo, field_name: str):  # pragma: no cover - unused by __call__
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if self.kind == "solana":
            return read_solana_cli_config(solana_cli_config_path())
        path = _find_toml(_config_file.get())
        return read_toml_config(path) if path else {}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOLMETER_", extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir, description="keys, SQLite file, localnet ledger")
    rpc_url: str = Field("localnet", description="cluster moniker or RPC URL")
    ws_url: str | None = Field(None, description="PubSub URL; derived from rpc_url when unset")
    commitment: Literal["processed", "confirmed", "finalized"] = "confirmed"
    keypair_path: Path | None = Field(None, description="payer / operator keypair; <data_dir>/id.json if unset")
    database_url: str | None = Field(None, description="SQLAlchemy URL; sqlite file in data_dir if unset")
    program_id: str | None = Field(None, description="billing program id; the localnet default if unset")
    localnet_host: str = "127.0.0.1"
    localnet_rpc_port: int = Field(8899, ge=0, le=65535)
    localnet_slot_ms: int = Field(400, ge=1)
    localnet_ledger_dir: Path | None = None
    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=0, le=65535)
    meter_keypair_path: Path | None = None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (init_settings, env_settings, _FileSource(settings_cls, "toml"), _FileSource(settings_cls, "solana"))

    @field_validator("rpc_url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        v = SHORT_MONIKERS.get(v, v)
        if v in MONIKERS or v == "localnet":
            return v
        u = urlparse(v)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise ValueError(f"{v!r} is not a cluster: use localnet, devnet, testnet, mainnet-beta (or l, d, t, m) "
                             "or an http(s) URL")
        return v

    # Derived values: computed, never stored twice.
    @property
    def resolved_rpc_url(self) -> str:
        if self.rpc_url == "localnet":
            return f"http://{self.localnet_host}:{self.localnet_rpc_port}"
        return MONIKERS.get(self.rpc_url, self.rpc_url)

    @property
    def resolved_ws_url(self) -> str:
        if self.ws_url:
            return self.ws_url
        u = urlparse(self.resolved_rpc_url)
        scheme = "wss" if u.scheme == "https" else "ws"
        netloc = u.netloc
        if u.port:  # solana convention: PubSub listens on the RPC port + 1
            netloc = f"{u.hostname}:{u.port + 1}"
        return urlunparse((scheme, netloc, u.path, "", "", ""))

    @property
    def resolved_keypair_path(self) -> Path:
        return (self.keypair_path or self.data_dir / "id.json").expanduser()

    @property
    def resolved_meter_keypair_path(self) -> Path:
        return (self.meter_keypair_path or self.data_dir / "meter.json").expanduser()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'solmeter.db').expanduser()}"

    @property
    def resolved_ledger_dir(self) -> Path:
        return (self.localnet_ledger_dir or self.data_dir / "localnet").expanduser()

    @property
    def deployment_path(self) -> Path:
        return self.data_dir.expanduser() / DEPLOYMENT_FILE

    @property
    def resolved_program_id(self) -> str:
        """The program_id setting, else the program `operator init` deployed from this data directory (its
        deployment.json), else the localnet's development program."""
        if self.program_id:
            return self.program_id
        path = self.deployment_path
        if not path.exists():
            return DEFAULT_PROGRAM_ID
        try:
            pid = json.loads(path.read_text())["program_id"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{path} is not a solmeter deployment file ({type(e).__name__}: {e}): fix or remove "
                              f"it, or set program_id") from None
        if not isinstance(pid, str):
            raise ConfigError(f"{path}: program_id is not a string")
        return pid

    def ensure_data_dir(self) -> Path:
        d = self.data_dir.expanduser()
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return d


# SOLMETER_* variables read outside Settings: command options' envvars, tools and the test suite.
# tests/cli/test_settings.py checks that every SOLMETER_ name in the code is here or a Settings field.
OTHER_ENV_VARIABLES = frozenset({
    "SOLMETER_CONFIG", "SOLMETER_DEBUG",
    "SOLMETER_METER_API", "SOLMETER_METER_WINDOW_S", "SOLMETER_METER_GRACE_S",
    "SOLMETER_METER_HEARTBEAT_TIMEOUT_S", "SOLMETER_METER_SAMPLE_TIMEOUT_S", "SOLMETER_METER_BATCH_INTERVAL_S",
    "SOLMETER_METER_CONFIG_VERSION", "SOLMETER_METER_ADMINS", "SOLMETER_METER_INGEST_BUSY_TIMEOUT_MS",
    "SOLMETER_SBF_CACHE", "SOLMETER_RUSTC",  # the program toolchain
    "SOLMETER_TEST_PG_URL", "SOLMETER_TEST_PG_PORT", "SOLMETER_WEB3JS_DIR", "SOLMETER_KIT_DIR", "SOLMETER_ANCHORPY_VENV",
    "SOLMETER_CRASH_TRIALS", "SOLMETER_SCREENSHOTS",  # tests and benchmarks
})
_warned_env: set[str] = set()


def known_env_variables() -> frozenset[str]:
    return OTHER_ENV_VARIABLES | {f"SOLMETER_{name.upper()}" for name in Settings.model_fields}


def unknown_env_variables(environ: Mapping[str, str]) -> list[str]:
    """SOLMETER_* names that nothing reads: most likely typos, which would otherwise be ignored silently."""
    known = known_env_variables()
    return sorted(k for k in environ if k.startswith("SOLMETER_") and k not in known)


def _warn_unknown_env() -> None:
    for name in unknown_env_variables(os.environ):
        if name in _warned_env:
            continue
        _warned_env.add(name)
        near = difflib.get_close_matches(name, sorted(known_env_variables()), n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        print(f"warning: environment variable {name} is not a solmeter setting and is ignored{hint}",
              file=sys.stderr)


def load_settings(config_file: str | os.PathLike | None = None, *, flags: GlobalFlags | None = None,
                  **overrides: Any) -> Settings:
    """Load settings; `flags` are the root's global flags (solmeter/flags.py), `overrides` a command's own
    flags (above the global ones); None values are ignored."""
    _warn_unknown_env()
    given = {k: v for k, v in overrides.items() if v is not None}
    if flags is not None:
        given = {**flags.overrides(), **given}
        config_file = config_file or flags.config
    token = _config_file.set(Path(config_file).expanduser() if config_file else None)
    data_token = _data_dir.set(Path(flags.data_dir) if flags is not None and flags.data_dir else None)
    try:
        return Settings(**given)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "settings"
        raise ConfigError(f"setting {loc}: {err['msg']}") from None
    finally:
        _config_file.reset(token)
        _data_dir.reset(data_token)
