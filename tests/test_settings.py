"""Agora's settings: where the catalog is, values refused when they cannot be honoured,
secrets never printed whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from agora import settings
from agora.cli import main


def test_the_catalog_is_the_home_file_unless_a_postgresql_url_is_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_HOME", str(tmp_path))
    assert settings.catalog_path() == tmp_path / "catalog.sqlite"
    assert settings.search_index_base() == tmp_path / "catalog.sqlite"
    url = "postgresql://agora:s3cret@db.internal:5432/agora"
    monkeypatch.setenv("AGORA_CATALOG_URL", url)
    assert settings.catalog_path() == url
    assert settings.search_index_base() == tmp_path / "catalog.index"
    assert settings.search_index_base("/srv/other/catalog.sqlite") == Path(
        "/srv/other/catalog.sqlite")
    monkeypatch.setenv("AGORA_CATALOG_URL", "mysql://agora:s3cret@db/agora")
    with pytest.raises(settings.SettingError, match="AGORA_CATALOG_URL: .* not a postgresql"
                       ) as refused:
        settings.catalog_path()
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize(("name", "value", "words"), [
    ("AGORA_SCHEDULE_CRAWL", "sometimes", "not one of auto, inline, queue"),
    ("AGORA_WORKER_POLL", "often", "not a number"),
    ("AGORA_WORKER_POLL", "0", "out of bounds"),
])
def test_values_that_cannot_be_honoured_are_refused_by_name(
        name: str, value: str, words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)
    check = (settings.schedule_crawl_mode if name == "AGORA_SCHEDULE_CRAWL"
             else settings.worker_poll_seconds)
    with pytest.raises(settings.SettingError, match=f"{name}: .*{words}"):
        check()


def test_agora_settings_lists_every_setting_with_secrets_redacted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_CATALOG_URL", "postgresql://agora:s3cret@db.internal/agora")
    monkeypatch.setenv("AGORA_OPERATOR_TOKEN", "t0ken-value")
    out = CliRunner().invoke(main, ["settings"], env={"COLUMNS": "300"}).output
    assert "s3cret" not in out and "t0ken-value" not in out
    assert "postgresql://agora:***@db.internal/agora" in out and "(set)" in out
    for setting in settings.SETTINGS:
        assert setting.name in out and setting.help
