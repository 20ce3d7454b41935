"""Fernet tokens: the key repository and the token payload format.

Keys live in `<state>/fernet-keys/` as Keystone keeps them: file `0` is the staged key,
the highest number is the primary key that encrypts, every key decrypts. Rotation promotes
the staged key, so a token issued just before a rotation stays valid everywhere.

A token carries only identifiers (who, how, which scope, until when, audit ids); roles and
the catalog are looked up at validation, so a revoked role fails validation at once.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import os
import secrets
import time
from pathlib import Path

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from nimbus.core import errors

PAYLOAD_VERSION = 1
MAX_ACTIVE_KEYS = 3


class TokenNotValid(errors.Unauthorized):
    template = "The request you have made requires authentication."


@dataclasses.dataclass(frozen=True)
class TokenPayload:
    user_id: str
    methods: tuple[str, ...]
    expires_at: dt.datetime            # aware, UTC
    audit_ids: tuple[str, ...]         # own audit id, then the chain it was rescoped from
    project_id: str | None = None
    domain_id: str | None = None
    system: str | None = None
    app_cred_id: str | None = None
    issued_at_ms: int = dataclasses.field(default_factory=lambda: int(time.time() * 1000))

    @property
    def scope(self) -> str:
        if self.project_id:
            return "project"
        if self.domain_id:
            return "domain"
        if self.system:
            return "system"
        return "unscoped"


def new_audit_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()


class KeyRepository:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fernet: MultiFernet | None = None
        self._loaded_mtime = -1.0

    def _indexes(self) -> list[int]:
        if not self.path.is_dir():
            return []
        return sorted(int(p.name) for p in self.path.iterdir() if p.name.isdigit())

    def initialize(self) -> bool:
        """Create the staged and a primary key if the repository is empty. True if created."""
        if self._indexes():
            return False
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._write_key(0)
        self._write_key(1)
        return True

    def rotate(self) -> int:
        """Promote the staged key to primary, stage a new one, drop the oldest extras."""
        indexes = self._indexes()
        if not indexes:
            raise errors.NimbusError("The token key repository is empty; run bootstrap first.")
        new_primary = max(indexes) + 1
        os.replace(self.path / "0", self.path / str(new_primary))
        self._write_key(0)
        secondary = sorted(i for i in self._indexes() if i not in (0, new_primary))
        while len(secondary) + 2 > MAX_ACTIVE_KEYS:
            (self.path / str(secondary.pop(0))).unlink()
        self._fernet = None
        return new_primary

    def _write_key(self, index: int) -> None:
        target = self.path / str(index)
        tmp = self.path / f".{index}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
        os.replace(tmp, target)

    def fernet(self) -> MultiFernet:
        """The keys, primary first; reloaded when the repository changed on disk."""
        mtime = self.path.stat().st_mtime if self.path.exists() else -1.0
        if self._fernet is None or mtime != self._loaded_mtime:
            indexes = self._indexes()
            if not indexes:
                raise errors.NimbusError("The token key repository is empty; run bootstrap first.")
            ordered = sorted(indexes, reverse=True)  # primary (highest) first, staged (0) last
            keys = [Fernet((self.path / str(i)).read_bytes().strip()) for i in ordered]
            self._fernet = MultiFernet(keys)
            self._loaded_mtime = mtime
        return self._fernet


_METHODS = ("password", "token", "application_credential", "totp")


def encode(repo: KeyRepository, payload: TokenPayload) -> str:
    mask = sum(1 << _METHODS.index(m) for m in payload.methods if m in _METHODS)
    body = [PAYLOAD_VERSION, payload.user_id, mask, int(payload.expires_at.timestamp()),
            list(payload.audit_ids), payload.project_id, payload.domain_id, payload.system,
            payload.app_cred_id, payload.issued_at_ms]
    token = repo.fernet().encrypt(orjson.dumps(body))
    # Keystone strips the padding too: it keeps tokens shorter and URL-safe.
    return token.rstrip(b"=").decode()


def decode(repo: KeyRepository, token: str) -> TokenPayload:
    """Decrypt and check expiry; raises TokenNotValid for anything wrong."""
    if not token or len(token) > 1024:
        raise TokenNotValid()
    raw = token.encode() + b"=" * (-len(token) % 4)
    try:
        data = orjson.loads(repo.fernet().decrypt(raw))
        (version, user_id, mask, expires, audit_ids, project_id, domain_id, system, app_cred,
         issued_at_ms) = data
    except (InvalidToken, ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise TokenNotValid() from exc
    if version != PAYLOAD_VERSION:
        raise TokenNotValid()
    expires_at = dt.datetime.fromtimestamp(expires, dt.UTC)
    if expires_at <= dt.datetime.now(dt.UTC):
        raise TokenNotValid("The token has expired.")
    methods = tuple(m for i, m in enumerate(_METHODS) if mask & (1 << i))
    return TokenPayload(user_id=user_id, methods=methods, expires_at=expires_at,
                        audit_ids=tuple(audit_ids), project_id=project_id,
                        domain_id=domain_id, system=system, app_cred_id=app_cred,
                        issued_at_ms=issued_at_ms)
