"""The signing key the hash chains are sealed with, kept in a file outside the database.

One secret (32 random bytes, hex in a file of mode 0600) gives two keys: an HMAC-SHA256 key
for the per-row seals (so that nobody without the file can re-hash a chain and make it verify)
and an Ed25519 key for the signed chain heads and checkpoints (so that anybody holding the public
key can check a checkpoint, offline). The file is created on first use, atomically, and never
overwritten; an existing file that others may read is refused.

The writers of the chains (:func:`registry.chain.append`, the decision ledger) take the key
configured by :func:`configure`, which the service calls at start with its setting
``SAFECREDIT_SIGNING_KEY_FILE``; this module knows no settings.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SealError(RuntimeError):
    """The signing key is missing, unreadable, too widely readable, or not the chain's."""


@dataclass(frozen=True)
class Sealer:
    """Seals rows and head rows (HMAC-SHA256: only the key's holder checks them, every append
    makes them) and signs checkpoints (Ed25519: anybody with the public key checks them), with
    keys derived from one secret."""

    path: Path
    mac_key: bytes
    signing_key: Ed25519PrivateKey
    public_key: Ed25519PublicKey
    public_pem: str  # the public key, PEM
    key_id: str  # the public key's first 16 hex digits of sha256: which key sealed a chain

    @classmethod
    def from_secret(cls, secret: bytes, path: Path = Path("-")) -> Sealer:
        mac_key = hmac.new(secret, b"safecredit/row-seal/v1", hashlib.sha256).digest()
        seed = hmac.new(secret, b"safecredit/ed25519/v1", hashlib.sha256).digest()
        private = Ed25519PrivateKey.from_private_bytes(seed)
        public = private.public_key()
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return cls(path, mac_key, private, public, pem, key_id(pem))

    def seal(self, chain: str, chain_seq: int, row_hash: str) -> str:
        """The keyed seal of a chain row (over its chain, position and content hash)."""
        return hmac.new(
            self.mac_key, f"{chain}:{chain_seq}:{row_hash}".encode(), "sha256"
        ).hexdigest()

    def mac(self, fields: dict[str, Any]) -> str:
        """The keyed seal of a head row: HMAC-SHA256 of :func:`message` of ``fields``."""
        return hmac.new(self.mac_key, b"head:" + message(fields), "sha256").hexdigest()

    def mac_ok(self, fields: dict[str, Any], seal: Any) -> bool:
        return isinstance(seal, str) and hmac.compare_digest(self.mac(fields), seal)

    def sign(self, fields: dict[str, Any]) -> str:
        """Base64 Ed25519 signature of :func:`message` of ``fields``."""
        return base64.b64encode(self.signing_key.sign(message(fields))).decode()

    def signed(self, fields: dict[str, Any]) -> bool:
        return signature_ok(self.public_pem, fields, fields.get("signature"))


def message(fields: dict[str, Any]) -> bytes:
    """The bytes a head or checkpoint signature covers: its fields but ``signature`` and
    ``public_key``, as JSON with sorted keys, no spaces, UTF-8."""
    signed = {k: v for k, v in fields.items() if k not in ("signature", "public_key", "signed")}
    return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id(public_pem: str) -> str:
    return hashlib.sha256(public_pem.encode()).hexdigest()[:16]


def signature_ok(public_pem: str, fields: dict[str, Any], signature: Any) -> bool:
    """Whether ``signature`` (base64) is the key's signature of ``fields``; never raises."""
    try:
        key = serialization.load_pem_public_key(public_pem.encode())
        if not isinstance(key, Ed25519PublicKey) or not isinstance(signature, str):
            return False
        key.verify(base64.b64decode(signature, validate=True), message(fields))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def load(path: Path, *, create: bool = True) -> Sealer:
    """The key in ``path``; created (mode 0600, atomically, never overwriting) when missing and
    ``create``. A file that group or others may read is refused."""
    path = Path(path)
    if not path.exists():
        if not create:
            raise SealError(f"signing key {path} does not exist")
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SealError(
            f"signing key {path} has mode {mode:04o}: others may read it; "
            f"`chmod 600 {path}` (and consider the key exposed)"
        )
    try:
        text = path.read_text().strip()
        secret = bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        raise SealError(f"signing key {path} is unreadable: {exc}") from exc
    if len(secret) != 32:
        raise SealError(f"signing key {path} holds {len(secret)} bytes, not 32")
    return Sealer.from_secret(secret, path)


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_bytes(32).hex() + "\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # made meanwhile by another: theirs is kept
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


_configured: Sealer | None = None


def configure(path: Path) -> Sealer:
    """Make the key in ``path`` (created if missing) the one the chains are written with."""
    global _configured
    if _configured is None or _configured.path != Path(path):
        _configured = load(Path(path))
    return _configured


def use(sealer: Sealer | None) -> None:
    """Make ``sealer`` the configured key (``None``: none), e.g. for a bench or a test."""
    global _configured
    _configured = sealer


@contextlib.contextmanager
def using(sealer: Sealer) -> Iterator[Sealer]:
    """``sealer`` configured for the block, the previous one again after it."""
    saved = _configured
    use(sealer)
    try:
        yield sealer
    finally:
        use(saved)


def configured() -> Sealer | None:
    return _configured


def current() -> Sealer:
    """The configured key; a clear error when the service did not configure one."""
    if _configured is None:
        raise SealError(
            "no signing key configured: the service configures SAFECREDIT_SIGNING_KEY_FILE "
            "at start (registry.seal.configure)"
        )
    return _configured
