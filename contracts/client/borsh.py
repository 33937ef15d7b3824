"""The Borsh codec under the generated client (contracts/client/gen): the Anchor wire format of the program's
accounts, events and instruction arguments.

Types are small literals the generator writes: "u8" "u16" "u32" "u64" "i64" "bool" "pubkey", ("array", T, n),
("vec", T), ("option", T) and a Struct subclass (a defined type). `[u8; N]` decodes to `bytes` (encodes from
bytes or a list of ints); other arrays to tuples; vec to lists. A Struct's codec is compiled once per class, so
decoding an account is one pass of closures over the buffer. Out-of-range or mistyped values raise
BorshError naming the field; short or trailing bytes raise BorshError too.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import fields as dc_fields
from typing import Any, Callable, ClassVar

from solders.pubkey import Pubkey

Decoder = Callable[[bytes, int], tuple[Any, int]]
Encoder = Callable[[Any, bytearray, str], None]

_INT = {"u8": ("<B", 0, 2**8 - 1), "u16": ("<H", 0, 2**16 - 1), "u32": ("<I", 0, 2**32 - 1),
        "u64": ("<Q", 0, 2**64 - 1), "i64": ("<q", -(2**63), 2**63 - 1)}


class BorshError(ValueError):
    """Bytes that are not the encoding of the expected type, or a value that cannot be encoded as it."""


def discriminator(namespace: str, name: str) -> bytes:
    """Anchor's 8-byte discriminator: sha256("<namespace>:<name>")[:8] (global / account / event)."""
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def fixed_size(t: Any) -> int | None:
    """Encoded size of a fixed-size type, None for vec and option."""
    if isinstance(t, str):
        return 32 if t == "pubkey" else 1 if t == "bool" else struct.calcsize(_INT[t][0])
    if isinstance(t, type) and issubclass(t, Struct):
        sizes = [fixed_size(ft) for _, ft in t.FIELDS]
        return None if None in sizes else sum(sizes)
    if t[0] == "array":
        inner = fixed_size(t[1])
        return None if inner is None else inner * t[2]
    return None


def _need(buf: bytes, off: int, n: int) -> None:
    if off + n > len(buf):
        raise BorshError(f"needs {off + n} bytes, got {len(buf)}")


def decoder(t: Any) -> Decoder:
    if isinstance(t, str):
        if t == "pubkey":
            def dec_pk(buf: bytes, off: int) -> tuple[Pubkey, int]:
                _need(buf, off, 32)
                return Pubkey.from_bytes(buf[off:off + 32]), off + 32
            return dec_pk
        if t == "bool":
            def dec_bool(buf: bytes, off: int) -> tuple[bool, int]:
                _need(buf, off, 1)
                b = buf[off]
                if b > 1:
                    raise BorshError(f"bool byte {b} at offset {off} is neither 0 nor 1")
                return b == 1, off + 1
            return dec_bool
        s = struct.Struct(_INT[t][0])
        unpack, size = s.unpack_from, s.size

        def dec_int(buf: bytes, off: int) -> tuple[int, int]:
            _need(buf, off, size)
            return unpack(buf, off)[0], off + size
        return dec_int
    if isinstance(t, type) and issubclass(t, Struct):
        return t._codec()[0]
    kind = t[0]
    if kind == "array" and t[1] == "u8":
        n = t[2]

        def dec_bytes(buf: bytes, off: int) -> tuple[bytes, int]:
            _need(buf, off, n)
            return bytes(buf[off:off + n]), off + n
        return dec_bytes
    inner = decoder(t[1])
    if kind == "array":
        n = t[2]

        def dec_array(buf: bytes, off: int) -> tuple[tuple, int]:
            out = []
            for _ in range(n):
                v, off = inner(buf, off)
                out.append(v)
            return tuple(out), off
        return dec_array
    if kind == "vec":
        def dec_vec(buf: bytes, off: int) -> tuple[list, int]:
            _need(buf, off, 4)
            n = int.from_bytes(buf[off:off + 4], "little")
            off += 4
            out = []
            for _ in range(n):
                v, off = inner(buf, off)
                out.append(v)
            return out, off
        return dec_vec
    if kind == "option":
        def dec_option(buf: bytes, off: int) -> tuple[Any, int]:
            _need(buf, off, 1)
            tag = buf[off]
            if tag == 0:
                return None, off + 1
            if tag != 1:
                raise BorshError(f"option tag {tag} at offset {off} is neither 0 nor 1")
            return inner(buf, off + 1)
        return dec_option
    raise TypeError(f"no Borsh decoder for type {t!r}")


def encoder(t: Any) -> Encoder:
    if isinstance(t, str):
        if t == "pubkey":
            def enc_pk(v: Any, out: bytearray, name: str) -> None:
                if not isinstance(v, Pubkey):
                    raise BorshError(f"{name}: expected a Pubkey, got {type(v).__name__}")
                out += bytes(v)
            return enc_pk
        if t == "bool":
            def enc_bool(v: Any, out: bytearray, name: str) -> None:
                if not isinstance(v, bool):
                    raise BorshError(f"{name}: expected a bool, got {type(v).__name__}")
                out.append(1 if v else 0)
            return enc_bool
        fmt, lo, hi = _INT[t]
        pack = struct.Struct(fmt).pack

        def enc_int(v: Any, out: bytearray, name: str) -> None:
            if not isinstance(v, int) or isinstance(v, bool):
                raise BorshError(f"{name}: expected an integer ({t}), got {type(v).__name__}")
            if not lo <= v <= hi:
                raise BorshError(f"{name}: {v} is out of range for {t} ({lo}..{hi})")
            out += pack(v)
        return enc_int
    if isinstance(t, type) and issubclass(t, Struct):
        enc_struct = t._codec()[1]

        def enc_defined(v: Any, out: bytearray, name: str) -> None:
            if not isinstance(v, t):
                raise BorshError(f"{name}: expected a {t.__name__}, got {type(v).__name__}")
            enc_struct(v, out, name)
        return enc_defined
    kind = t[0]
    if kind == "array" and t[1] == "u8":
        n = t[2]

        def enc_bytes(v: Any, out: bytearray, name: str) -> None:
            try:
                b = bytes(v)
            except (TypeError, ValueError):
                raise BorshError(f"{name}: expected {n} bytes, got {type(v).__name__}") from None
            if len(b) != n:
                raise BorshError(f"{name}: expected {n} bytes, got {len(b)}")
            out += b
        return enc_bytes
    inner = encoder(t[1])
    if kind == "array":
        n = t[2]

        def enc_array(v: Any, out: bytearray, name: str) -> None:
            if len(v) != n:
                raise BorshError(f"{name}: expected {n} elements, got {len(v)}")
            for i, x in enumerate(v):
                inner(x, out, f"{name}[{i}]")
        return enc_array
    if kind == "vec":
        def enc_vec(v: Any, out: bytearray, name: str) -> None:
            if isinstance(v, (str, bytes)) or not hasattr(v, "__len__"):
                raise BorshError(f"{name}: expected a list, got {type(v).__name__}")
            out += len(v).to_bytes(4, "little")
            for i, x in enumerate(v):
                inner(x, out, f"{name}[{i}]")
        return enc_vec
    if kind == "option":
        def enc_option(v: Any, out: bytearray, name: str) -> None:
            if v is None:
                out.append(0)
            else:
                out.append(1)
                inner(v, out, name)
        return enc_option
    raise TypeError(f"no Borsh encoder for type {t!r}")


class Struct:
    """Base of every generated type (a frozen dataclass): FIELDS lists (snake_case name, type) in wire order."""

    FIELDS: ClassVar[tuple[tuple[str, Any], ...]] = ()
    __slots__ = ()

    @classmethod
    def _codec(cls) -> tuple[Decoder, Encoder]:
        got = cls.__dict__.get("_compiled")
        if got is None:
            names = [n for n, _ in cls.FIELDS]
            assert names == [f.name for f in dc_fields(cls)], f"{cls.__name__}: FIELDS differ from the dataclass"
            decs = [decoder(t) for _, t in cls.FIELDS]
            encs = [(n, encoder(t)) for n, t in cls.FIELDS]

            def dec(buf: bytes, off: int) -> tuple[Any, int]:
                vals = []
                for d in decs:
                    v, off = d(buf, off)
                    vals.append(v)
                return cls(*vals), off

            def enc(v: Any, out: bytearray, prefix: str) -> None:
                for n, e in encs:
                    e(getattr(v, n), out, f"{prefix}.{n}" if prefix else n)

            got = (dec, enc)
            cls._compiled = got  # a class attribute: set once, read by every instance's codec
        return got

    @classmethod
    def from_bytes(cls, data: bytes) -> Any:
        """The fields' Borsh encoding (no discriminator), all of it."""
        value, off = cls._codec()[0](bytes(data), 0)
        if off != len(data):
            raise BorshError(f"{cls.__name__}: {len(data) - off} trailing bytes")
        return value

    def to_bytes(self) -> bytes:
        out = bytearray()
        type(self)._codec()[1](self, out, "")
        return bytes(out)


class Discriminated(Struct):
    """A type whose encoding starts with an 8-byte discriminator (accounts, events, instruction data)."""

    DISCRIMINATOR: ClassVar[bytes] = b""
    __slots__ = ()

    @classmethod
    def decode(cls, data: bytes) -> Any:
        """Discriminator, then the fields; anything else is a BorshError."""
        data = bytes(data)
        if data[:8] != cls.DISCRIMINATOR:
            raise BorshError(f"not a {cls.__name__}: discriminator {data[:8].hex()}")
        value, off = cls._codec()[0](data, 8)
        if off != len(data):
            raise BorshError(f"{cls.__name__}: {len(data) - off} trailing bytes")
        return value

    def encode(self) -> bytes:
        out = bytearray(self.DISCRIMINATOR)
        type(self)._codec()[1](self, out, "")
        return bytes(out)
