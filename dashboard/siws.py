"""Sign-In With Solana (SIWS) messages: the one place that renders, parses and verifies them.

The text follows the SIWS format that wallet-standard wallets (Phantom, Solflare, Backpack) show and sign
for `solana:signIn` (EIP-4361's layout with a Solana address):

    {domain} wants you to sign in with your Solana account:
    {address}

    {statement}

    URI: {uri}
    Version: 1
    Chain ID: {chain_id}
    Nonce: {nonce}
    Issued At: {issued_at}
    Expiration Time: {expiration_time}

The meter accepts a signed message only when every field is the one it asked for: its own domain and URI
(a message signed for another site is useless here), the nonce it issued (single use, see sessions.py),
an issued-at not in the future and an expiry not passed; the signature must be the address's ed25519
signature over the exact bytes. Pure: no clock, no I/O (times are passed in).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from solders.pubkey import Pubkey
from solders.signature import Signature

STATEMENT = "Sign in to the solmeter dashboard. This signature moves no funds."
VERSION = "1"
_HEADER = " wants you to sign in with your Solana account:"
_FIELDS = (("uri", "URI"), ("version", "Version"), ("chain_id", "Chain ID"), ("nonce", "Nonce"),
           ("issued_at", "Issued At"), ("expiration_time", "Expiration Time"))
_NONCE = re.compile(r"^[A-Za-z0-9]{8,64}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")


class SiwsError(Exception):
    """The sign-in message or its signature is not acceptable; `field` names what is wrong."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def iso_ms(t_ms: int) -> str:
    """RFC 3339 UTC with milliseconds, the form the message carries."""
    return datetime.fromtimestamp(t_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{t_ms % 1000:03d}Z"


def parse_iso_ms(field: str, text: str) -> int:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SiwsError(field, f"not an RFC 3339 time: {text!r}") from None
    if dt.tzinfo is None:
        raise SiwsError(field, "time without a zone")
    return int(dt.timestamp() * 1000)


@dataclass(frozen=True)
class SignInMessage:
    domain: str
    address: str
    statement: str
    uri: str
    version: str
    chain_id: str
    nonce: str
    issued_at: str
    expiration_time: str

    def render(self) -> str:
        lines = [f"{self.domain}{_HEADER}", self.address, "", self.statement, ""]
        lines += [f"{label}: {getattr(self, attr)}" for attr, label in _FIELDS]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"domain": self.domain, "address": self.address, "statement": self.statement, "uri": self.uri,
                "version": self.version, "chainId": self.chain_id, "nonce": self.nonce,
                "issuedAt": self.issued_at, "expirationTime": self.expiration_time}


def challenge(domain: str, uri: str, address: str, chain_id: str, nonce: str, now_ms: int, ttl_ms: int) -> SignInMessage:
    return SignInMessage(domain, address, STATEMENT, uri, VERSION, chain_id, nonce, iso_ms(now_ms),
                         iso_ms(now_ms + ttl_ms))


def parse(text: str) -> SignInMessage:
    """Strict: exactly the layout above, every field present once, in order."""
    lines = text.split("\n")
    if len(lines) != 5 + len(_FIELDS):
        raise SiwsError("message", f"expected {5 + len(_FIELDS)} lines in the SIWS layout, got {len(lines)}")
    if not lines[0].endswith(_HEADER):
        raise SiwsError("message", "first line is not '<domain> wants you to sign in with your Solana account:'")
    domain = lines[0][: -len(_HEADER)]
    if not _DOMAIN.match(domain):
        raise SiwsError("domain", f"not a host[:port]: {domain!r}")
    address = lines[1]
    try:
        Pubkey.from_string(address)
    except ValueError:
        raise SiwsError("address", "not a base58 Solana public key") from None
    if lines[2] != "" or lines[4] != "":
        raise SiwsError("message", "the statement must stand between two empty lines")
    values = {}
    for (attr, label), line in zip(_FIELDS, lines[5:]):
        prefix = f"{label}: "
        if not line.startswith(prefix):
            raise SiwsError(attr, f"expected a line '{prefix}...'")
        values[attr] = line[len(prefix):]
    if not _NONCE.match(values["nonce"]):
        raise SiwsError("nonce", "8 to 64 letters and digits")
    return SignInMessage(domain=domain, address=address, statement=lines[3], **values)


@dataclass(frozen=True)
class Expected:
    """What the meter asked for: a message is accepted only when it says exactly this."""
    domain: str
    uri: str
    chain_id: str


def verify(message: bytes, signature: bytes, expected: Expected, now_ms: int) -> SignInMessage:
    """The parsed message when `signature` is its address's ed25519 signature over `message` and every field
    is acceptable (the nonce's single use is the caller's: sessions.Challenges.consume)."""
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise SiwsError("message", "not UTF-8 text") from None
    msg = parse(text)
    if msg.domain != expected.domain:
        raise SiwsError("domain", f"signed for {msg.domain!r}, this meter is {expected.domain!r}")
    if msg.uri != expected.uri:
        raise SiwsError("uri", f"signed for {msg.uri!r}, this meter is {expected.uri!r}")
    if msg.version != VERSION:
        raise SiwsError("version", f"only version {VERSION} is known")
    if msg.chain_id != expected.chain_id:
        raise SiwsError("chain_id", f"signed for {msg.chain_id!r}, this meter is on {expected.chain_id!r}")
    issued = parse_iso_ms("issued_at", msg.issued_at)
    expires = parse_iso_ms("expiration_time", msg.expiration_time)
    if issued > now_ms:
        raise SiwsError("issued_at", "in the future")
    if expires <= now_ms:
        raise SiwsError("expiration_time", "the sign-in message has expired: sign in again")
    if len(signature) != 64:
        raise SiwsError("signature", f"an ed25519 signature is 64 bytes, got {len(signature)}")
    if not Signature.from_bytes(signature).verify(Pubkey.from_string(msg.address), message):
        raise SiwsError("signature", f"not {msg.address}'s signature of this message")
    return msg
