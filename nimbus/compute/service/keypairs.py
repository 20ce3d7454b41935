"""Keypairs (os-keypairs): imported or, below 2.92, generated; owned by a user, not a project."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import delete, select

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import KeypairRow
from nimbus.compute.schemas import KeypairCreate
from nimbus.compute.service import quotas
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext

_NAME_BEFORE_292 = re.compile(r"^[a-zA-Z0-9 _-]+$")
_NAME_FROM_292 = re.compile(r"^[a-zA-Z0-9 @._-]+$")


@dataclasses.dataclass(frozen=True)
class Keypair:
    id: int
    name: str
    user_id: str
    fingerprint: str
    public_key: str
    type: str
    created_at: dt.datetime
    private_key: str | None = None

    @classmethod
    def from_row(cls, row: KeypairRow, private_key: str | None = None) -> Keypair:
        return cls(row.id, row.name, row.user_id, row.fingerprint, row.public_key, row.type,
                   row.created_at, private_key)


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def ssh_fingerprint(public_key: str) -> str:
    """MD5 of the key blob, as `ssh-keygen -E md5 -l` and Nova print it; 400 if not a key."""
    try:
        serialization.load_ssh_public_key(public_key.strip().encode())
        blob = base64.b64decode(public_key.split()[1])
    except (ValueError, IndexError, TypeError, UnicodeError) as exc:
        raise errors.InvalidKeypair(reason="failed to parse the public key") from exc
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(certificate: str) -> str:
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError as exc:
        raise errors.InvalidKeypair(reason="failed to parse the certificate") from exc
    return _colon_hex(cert.fingerprint(hashes.SHA1()))  # noqa: S303 - Nova's fingerprint


def _generate(key_type: str, name: str) -> tuple[str, str]:
    """A new private key and its public half (an SSH line, or a self-signed certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    if key_type == "ssh":
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
        return private, f"{public} Generated-by-Nimbus"
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return private, cert.public_bytes(serialization.Encoding.PEM).decode()


def _owner(ctx: RequestContext, user_id: str | None, version: tuple[int, int]) -> str:
    """Whose keypairs: the caller's, or (2.10+, admins) the `user_id` asked for."""
    if user_id is None or user_id == ctx.user_id:
        return ctx.user_id or ""
    if version < (2, 10):
        raise errors.InvalidInput(reason="user_id needs microversion 2.10 or later")
    return user_id


async def create_keypair(deps: ComputeDeps, ctx: RequestContext, spec: KeypairCreate,
                         version: tuple[int, int]) -> Keypair:
    user_id = _owner(ctx, spec.user_id, version)
    deps.policy.authorize("os_compute_api:os-keypairs:create", ctx, {"user_id": user_id})
    pattern = _NAME_FROM_292 if version >= (2, 92) else _NAME_BEFORE_292
    if not pattern.match(spec.name) or not spec.name.strip():
        raise errors.InvalidKeypair(reason="Keypair name contains unsafe characters")
    if spec.type is not None and version < (2, 2):
        raise errors.InvalidInput(reason="type needs microversion 2.2 or later")
    key_type = spec.type or "ssh"
    if key_type not in ("ssh", "x509"):
        raise errors.InvalidInput(reason=f"type must be ssh or x509, not {key_type!r}")
    private_key: str | None = None
    if spec.public_key is not None:
        public_key = spec.public_key
    elif version >= (2, 92):
        raise errors.InvalidInput(reason="public_key is required from microversion 2.92")
    else:
        # RSA generation costs tens of milliseconds of CPU: off the event loop.
        private_key, public_key = await asyncio.to_thread(_generate, key_type, spec.name)
    fingerprint = (ssh_fingerprint(public_key) if key_type == "ssh"
                   else x509_fingerprint(public_key))
    try:
        async with deps.write() as session:
            exists = await session.execute(select(KeypairRow.id).where(
                KeypairRow.user_id == user_id, KeypairRow.name == spec.name))
            if exists.first():
                raise errors.KeypairExists(name=spec.name)
            allowed = (await quotas.limits(session, deps.settings.compute.quotas,
                                           ctx.project_id or ""))["key_pairs"]
            if 0 <= allowed <= await quotas.count_keypairs(session, user_id):
                raise errors.KeypairLimitExceeded()
            row = KeypairRow(name=spec.name, user_id=user_id, fingerprint=fingerprint,
                             public_key=public_key, type=key_type)
            session.add(row)
    except core_errors.Conflict as exc:
        if isinstance(exc, errors.KeypairExists):
            raise
        raise errors.KeypairExists(name=spec.name) from exc
    # Counted again once committed: of racing creates past the quota, each takes its own back.
    if allowed >= 0:
        async with deps.read() as session:
            over = await quotas.count_keypairs(session, user_id) > allowed
        if over:
            async with deps.write() as session:
                await session.execute(delete(KeypairRow).where(KeypairRow.id == row.id))
            raise errors.KeypairLimitExceeded()
    return Keypair.from_row(row, private_key)


async def list_keypairs(deps: ComputeDeps, ctx: RequestContext, user_id: str | None,
                        version: tuple[int, int], *, limit: int | None = None,
                        marker: str | None = None) -> list[Keypair]:
    owner = _owner(ctx, user_id, version)
    deps.policy.authorize("os_compute_api:os-keypairs:index", ctx, {"user_id": owner})
    async with deps.read() as session:
        query = select(KeypairRow).where(KeypairRow.user_id == owner)
        if marker is not None:
            marker_row = (await session.execute(query.where(KeypairRow.name == marker))).scalar()
            if marker_row is None:
                raise core_errors.BadRequest(f"marker [{marker}] not found")
            query = query.where(KeypairRow.name > marker)
        query = query.order_by(KeypairRow.name)
        if limit is not None:
            query = query.limit(limit)
        return [Keypair.from_row(r) for r in (await session.execute(query)).scalars()]


async def get_keypair(deps: ComputeDeps, ctx: RequestContext, name: str, user_id: str | None,
                      version: tuple[int, int]) -> Keypair:
    owner = _owner(ctx, user_id, version)
    deps.policy.authorize("os_compute_api:os-keypairs:show", ctx, {"user_id": owner})
    async with deps.read() as session:
        row = (await session.execute(select(KeypairRow).where(
            KeypairRow.user_id == owner, KeypairRow.name == name))).scalar()
        if row is None:
            raise errors.KeypairNotFound(name=name, user_id=owner)
        return Keypair.from_row(row)


async def delete_keypair(deps: ComputeDeps, ctx: RequestContext, name: str, user_id: str | None,
                         version: tuple[int, int]) -> None:
    owner = _owner(ctx, user_id, version)
    deps.policy.authorize("os_compute_api:os-keypairs:delete", ctx, {"user_id": owner})
    async with deps.write() as session:
        row = (await session.execute(select(KeypairRow).where(
            KeypairRow.user_id == owner, KeypairRow.name == name))).scalar()
        if row is None:
            raise errors.KeypairNotFound(name=name, user_id=owner)
        await session.delete(row)
