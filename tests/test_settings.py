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


@pytest.mark.parametrize(("env", "words"), [
    ({"AGORA_SEARCH_ENGINE": "lucene"}, "AGORA_SEARCH_ENGINE: 'lucene' is not one of"),
    ({"AGORA_SEARCH_ENGINE": "fts5", "AGORA_ELASTICSEARCH_URL": "http://127.0.0.1:9"},
     "AGORA_SEARCH_ENGINE: chooses the embedded index"),
    ({"AGORA_SEARCH_BUDGET_MS": "soon"}, "AGORA_SEARCH_BUDGET_MS: 'soon' is not a number"),
    ({"AGORA_SEARCH_BUDGET_MS": "0"}, "AGORA_SEARCH_BUDGET_MS: 0 ms is out of bounds"),
])
def test_search_settings_that_cannot_be_honoured_are_refused_by_name(
        env: dict[str, str], words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(settings.SettingError, match=words):
        settings.search_backend_settings()


def test_search_settings_choose_the_engine_and_the_budget(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_HOME", str(tmp_path))
    default = settings.open_search_backend()
    assert type(default).__name__ == "EmbeddedBackend" and default.budget.budget_ms == 50
    default.close()
    monkeypatch.setenv("AGORA_SEARCH_ENGINE", "FTS5")
    monkeypatch.setenv("AGORA_SEARCH_BUDGET_MS", "120")
    chosen = settings.open_search_backend()
    assert type(chosen).__name__ == "Fts5Backend" and chosen.budget.budget_ms == 120
    chosen.close()


def test_agora_settings_lists_every_setting_with_secrets_redacted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_CATALOG_URL", "postgresql://agora:s3cret@db.internal/agora")
    monkeypatch.setenv("AGORA_OPERATOR_TOKEN", "t0ken-value")
    out = CliRunner().invoke(main, ["settings"], env={"COLUMNS": "300"}).output
    assert "s3cret" not in out and "t0ken-value" not in out
    assert "postgresql://agora:***@db.internal/agora" in out and "(set)" in out
    for setting in settings.SETTINGS:
        assert setting.name in out and setting.help
