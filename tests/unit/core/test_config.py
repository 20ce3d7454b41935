from __future__ import annotations

from pathlib import Path

import pytest

from nimbus.core.config import load_settings


def test_settings_read_toml_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "nimbus.toml"
    config.write_text('port = 9000\nregion = "Moon"\n[database]\nconnection = "sqlite+aiosqlite:///x"\n')
    monkeypatch.setenv("NIMBUS_CONFIG", str(config))
    monkeypatch.setenv("NIMBUS_PORT", "9100")
    monkeypatch.setenv("NIMBUS_IDENTITY__BCRYPT_ROUNDS", "5")
    settings = load_settings()
    assert settings.port == 9100
    assert settings.region == "Moon"
    assert settings.database_url == "sqlite+aiosqlite:///x"
    assert settings.identity.bcrypt_rounds == 5
    assert settings.base_url == "http://127.0.0.1:9100"


def test_settings_default_to_sqlite_in_the_state_dir(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIMBUS_CONFIG", raising=False)
    monkeypatch.setenv("NIMBUS_STATE_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/nimbus.sqlite"
    assert settings.identity.bcrypt_rounds == 12
    assert settings.transport_url == "memory://"


def test_bcrypt_cost_below_the_floor_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIMBUS_IDENTITY__BCRYPT_ROUNDS", "2")
    with pytest.raises(ValueError):
        load_settings()
