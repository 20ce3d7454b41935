"""Password hashing with bcrypt, off the event loop (a cost-12 hash takes ~0.25 s)."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import bcrypt


def _material(password: str) -> bytes:
    raw = password.encode()
    # bcrypt reads at most 72 bytes and the library refuses more; pre-hash long passwords
    # so that every byte counts instead of silently truncating.
    if len(raw) > 72:
        raw = base64.b64encode(hashlib.sha256(raw).digest())
    return raw


async def hash_password(password: str, rounds: int) -> str:
    salt = bcrypt.gensalt(rounds=rounds)
    hashed = await asyncio.to_thread(bcrypt.hashpw, _material(password), salt)
    return hashed.decode()


async def verify_password(password: str, hashed: str | None) -> bool:
    if not hashed:
        return False
    try:
        return await asyncio.to_thread(bcrypt.checkpw, _material(password), hashed.encode())
    except ValueError:
        return False
