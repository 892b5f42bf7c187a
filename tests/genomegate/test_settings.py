"""Settings are validated at start-up, one clear line per problem; development secrets are refused in production."""

from __future__ import annotations

import pytest

from catalogue.settings import Settings, SettingsError, load_settings


def test_defaults_give_a_working_development_node(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GENOMEGATE_DATABASE_URL", "GENOMEGATE_DATA_DIR", "GENOMEGATE_ENV"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite:///.genomegate/genomegate.db"
    assert settings.import_root.name == "import"


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENOMEGATE_ENV", "production")
    with pytest.raises(SettingsError, match="GENOMEGATE_SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("GENOMEGATE_SECRET_KEY", "s" * 40)
    with pytest.raises(SettingsError, match="GENOMEGATE_PARTICIPANT_KEY"):  # the participants' key: the same rule
        load_settings()
    monkeypatch.setenv("GENOMEGATE_PARTICIPANT_KEY", "p" * 40)
    assert load_settings().env == "production"


def test_each_problem_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENOMEGATE_PUBLIC_BASE_URL", "ftp://x")
    monkeypatch.setenv("GENOMEGATE_MAX_PAGE_SIZE", "0")
    monkeypatch.setenv("GENOMEGATE_TRUSTED_ISSUERS", '[{"issuer": "https://idp", "audience": "a"}]')
    with pytest.raises(SettingsError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert sorted(line.split(":")[0] for line in lines) == [
        "GENOMEGATE_MAX_PAGE_SIZE", "GENOMEGATE_PUBLIC_BASE_URL", "GENOMEGATE_TRUSTED_ISSUERS"]
    assert any("jwks_url or jwks_file" in line for line in lines)


def test_lists_come_from_plain_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENOMEGATE_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("GENOMEGATE_TRUSTED_ISSUERS",
                       '[{"issuer": "https://idp", "audience": "a", "jwks_url": "https://idp/jwks"}]')
    settings = Settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.trusted_issuers[0].jwks_url == "https://idp/jwks"
