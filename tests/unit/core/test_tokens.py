from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nimbus.core import tokens


def _payload(**changes: object) -> tokens.TokenPayload:
    values: dict[str, object] = {
        "user_id": "u" * 32, "methods": ("password",), "audit_ids": (tokens.new_audit_id(),),
        "expires_at": dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1),
        "project_id": "p" * 32}
    values.update(changes)
    return tokens.TokenPayload(**values)  # type: ignore[arg-type]


def test_token_round_trip_keeps_every_field(tmp_path: Path) -> None:
    repo = tokens.KeyRepository(tmp_path / "keys")
    assert repo.initialize()
    payload = _payload(methods=("password", "token"), app_cred_id="c1")
    token = tokens.encode(repo, payload)
    assert "=" not in token and len(token) < 400
    assert tokens.decode(repo, token) == payload


def test_token_expired_or_tampered_is_not_valid(tmp_path: Path) -> None:
    repo = tokens.KeyRepository(tmp_path / "keys")
    repo.initialize()
    expired = tokens.encode(repo, _payload(
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    with pytest.raises(tokens.TokenNotValid):
        tokens.decode(repo, expired)
    good = tokens.encode(repo, _payload())
    with pytest.raises(tokens.TokenNotValid):
        tokens.decode(repo, good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"))
    with pytest.raises(tokens.TokenNotValid):
        tokens.decode(repo, "")


def test_rotation_keeps_recent_tokens_valid_and_drops_old_keys(tmp_path: Path) -> None:
    repo = tokens.KeyRepository(tmp_path / "keys")
    repo.initialize()
    before = tokens.encode(repo, _payload())
    assert repo.rotate() == 2
    assert tokens.decode(repo, before).user_id == "u" * 32
    after = tokens.encode(repo, _payload())
    repo.rotate()
    repo.rotate()
    # Three keys at most: staged, primary, one secondary; the oldest tokens die with key 1.
    assert len(list((tmp_path / "keys").iterdir())) == tokens.MAX_ACTIVE_KEYS
    with pytest.raises(tokens.TokenNotValid):
        tokens.decode(repo, before)
    with pytest.raises(tokens.TokenNotValid):
        tokens.decode(repo, after)


def test_a_token_from_another_key_repository_is_not_valid(tmp_path: Path) -> None:
    mine, theirs = tokens.KeyRepository(tmp_path / "a"), tokens.KeyRepository(tmp_path / "b")
    mine.initialize()
    theirs.initialize()
    with pytest.raises(tokens.TokenNotValid):
        tokens.decode(mine, tokens.encode(theirs, _payload()))


def test_key_files_are_private(tmp_path: Path) -> None:
    repo = tokens.KeyRepository(tmp_path / "keys")
    repo.initialize()
    for key in (tmp_path / "keys").iterdir():
        assert key.stat().st_mode & 0o077 == 0
