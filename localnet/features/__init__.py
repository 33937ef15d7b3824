"""Which feature gates the localnet runs with: `devnet` (the default: the cluster users deploy to), `mainnet`,
or `all` (every gate solders knows, active).

devnet and mainnet are derived from the Solana Explorer's feature-gate list (clusters.json, with its source and
date; refresh it with `python -m localnet.features.refresh`). Loading a cluster's set starts from solders'
mainnet set (LiteSVM.mainnet_feature_set()) and applies every listed gate solders knows: active from its
activation epoch's first slot on that cluster, or inactive. Gates the list does not name (old ones, active
everywhere long ago, or never activated) keep solders' mainnet setting; listed gates solders does not know
cannot be run and are reported by `unknown_gates`."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from solders.account import Account
from solders.litesvm import FeatureSet, LiteSVM
from solders.pubkey import Pubkey

CLUSTERS_JSON = Path(__file__).resolve().parent / "clusters.json"
SOURCE_REPO = "solana-foundation/explorer"
SOURCE_PATH = "app/entities/feature-gate/feature-gates.json"
FEATURE_SETS = ("devnet", "mainnet", "all")
DEFAULT_FEATURES = "devnet"

# SIMD-0500: refuses DeployWithMaxDataLen, Upgrade and finalization of SBPF v0-v2 programs (InvalidAccountData).
DISABLE_SBPF_V0_V2_DEPLOYMENT = Pubkey.from_string("B8JJXCy5amZyWG9r7EnUYLwzXSXTxG7GZ1qZ1qggo83g")


NATIVE_LOADER = Pubkey.from_string("NativeLoader1111111111111111111111111111111")
# Precompiles run inside the SVM under these feature sets, but their program accounts must exist (as on every
# cluster) or a transaction calling them fails with InvalidProgramForExecution.
PRECOMPILES = tuple(Pubkey.from_string(k) for k in (
    "Ed25519SigVerify111111111111111111111111111", "KeccakSecp256k11111111111111111111111111111",
    "Secp256r1SigVerify1111111111111111111111111"))


class UnknownFeatureSet(ValueError):
    pass


def new_svm(name: str, lamports: int) -> LiteSVM:
    """A LiteSVM running feature set `name` (devnet, mainnet or all) from its construction.

    The order matters: LiteSVM builds the program runtime environment from the feature set in force when the
    builtins and programs are added, so `LiteSVM().with_feature_set(fs)` keeps mainnet's environment under
    devnet's gates and every SBPF v0 program then fails with "Invalid memory region at index 4"
    (virtual_address_space_adjustments, SIMD-0460, changes the input regions). Built in this order, v0
    programs run under devnet's set as they do on devnet. Under mainnet's set SPL Token is p-token."""
    svm = (LiteSVM.default().with_feature_set(feature_set(name)).with_builtins().with_lamports(lamports)
           .with_sysvars().with_default_programs())
    for key in PRECOMPILES:
        svm.set_account(key, Account(1, b"", NATIVE_LOADER, True, 0))
    return svm


@lru_cache(maxsize=1)
def clusters() -> dict:
    return json.loads(CLUSTERS_JSON.read_text())


def _known() -> set[Pubkey]:
    base = LiteSVM.mainnet_feature_set()
    return set(base.active) | set(base.inactive)


def feature_set(name: str) -> FeatureSet:
    """The FeatureSet of `name` (devnet, mainnet or all). Activation slots are 0: the localnet's chain starts
    after every activation it carries."""
    if name == "all":
        return FeatureSet.all_enabled()
    if name not in ("devnet", "mainnet"):
        raise UnknownFeatureSet(f"unknown feature set {name!r}: choose one of {', '.join(FEATURE_SETS)}")
    fs = LiteSVM.mainnet_feature_set()
    known = _known()
    for gate in clusters()["gates"]:
        key = Pubkey.from_string(gate["key"])
        if key not in known:
            continue
        if gate[name] is None:
            fs.deactivate(key)
        else:
            fs.activate(key, 0)
    return fs


def unknown_gates() -> list[dict]:
    """Listed gates that this solders cannot run (newer than its Agave)."""
    known = {str(k) for k in _known()}
    return [g for g in clusters()["gates"] if g["key"] not in known]


def describe(name: str) -> str:
    fs = feature_set(name)
    src = clusters()["source"]
    origin = "every gate" if name == "all" else f"explorer {src['commit'][:10]} of {src['commit_date']}"
    return f"{name} ({len(fs.active)} active, {len(fs.inactive)} inactive; {origin})"


__all__ = ["DEFAULT_FEATURES", "DISABLE_SBPF_V0_V2_DEPLOYMENT", "FEATURE_SETS", "UnknownFeatureSet", "clusters",
           "describe", "feature_set", "new_svm", "unknown_gates"]
