"""Which cluster an RPC URL leads to, and what follows from it: the Solana Explorer link of an address or a
transaction there, and whether the committed development program keypair may be used.

A cluster is known by its genesis hash, not its URL (devnet behind a private RPC provider is still devnet;
a forwarded port on 127.0.0.1 may be anything). The development key (contracts/keys/program-keypair.json,
committed, so its private key is public) is for the embedded localnet: allowed only on a loopback URL whose
genesis is not a public cluster's. Anywhere else anyone could deploy their own program at its address."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse

from solders.pubkey import Pubkey

import contracts

from .tx import OpError

GENESIS_HASHES = {
    "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG": "devnet",
    "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY": "testnet",
    "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d": "mainnet-beta",
}
EXPLORER = "https://explorer.solana.com"
DEV_PROGRAM_ID = Pubkey.from_string(contracts.DEFAULT_PROGRAM_ID)


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Cluster:
    url: str
    genesis_hash: str

    @property
    def public(self) -> str | None:
        """devnet, testnet or mainnet-beta; None for any other cluster."""
        return GENESIS_HASHES.get(self.genesis_hash)

    @property
    def local(self) -> bool:
        """A private cluster on this machine (the embedded localnet, a test validator)."""
        return self.public is None and is_loopback(self.url)

    @property
    def name(self) -> str:
        return self.public or ("localnet" if self.local else "custom")

    def explorer(self, kind: str, value: object) -> str:
        """The Explorer page of an `address` or a `tx` on this cluster."""
        base = f"{EXPLORER}/{kind}/{value}"
        if self.public == "mainnet-beta":
            return base
        if self.public:
            return f"{base}?cluster={self.public}"
        return f"{base}?cluster=custom&customUrl={quote(self.url, safe='')}"


def identify(chain) -> Cluster:
    return Cluster(chain.url, chain.genesis_hash())


def check_program_key(cluster: Cluster, program_id: Pubkey, path: Path | None) -> None:
    """Refuse the committed development program key anywhere but a local cluster."""
    dev_path = path is not None and Path(path).expanduser().resolve() == contracts.PROGRAM_KEYPAIR.resolve()
    if (program_id == DEV_PROGRAM_ID or dev_path) and not cluster.local:
        raise OpError(f"the committed program keypair {contracts.PROGRAM_KEYPAIR.name} (program {DEV_PROGRAM_ID}) is "
                      f"a development key for the localnet only, and {cluster.name} is not one: make your own with "
                      f"`solmeter keys new program-keypair.json` and pass --program-keypair program-keypair.json")
