"""``agora link`` checks coordinates against the served territories' area, as the build
does: a Grand Nancy shop keeps its point when the instance serves the Grand Nancy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agora.cli import main
from agora.linking import link_area

NANCY = (48.6920, 6.1820)
TOULOUSE = (43.6045, 1.4420)
LISTINGS = [
    {"kind": "shop", "source": "achetezgrandnancy", "source_id": "stanislas",
     "url": "https://achetezgrandnancy.example/boutique/stanislas",
     "name": "Fromagerie Stanislas", "address": "2 rue Stanislas", "postcode": "54000",
     "city": "Nancy", "phone": "03 83 00 00 01", "lat": NANCY[0], "lon": NANCY[1],
     "categories": ["Fromagerie"]},
    {"kind": "shop", "source": "clickandco", "source_id": "andre",
     "url": "https://clickandco.example/boutique/andre", "name": "Fromagerie André",
     "address": "3 rue du Taur", "postcode": "31000", "city": "Toulouse",
     "phone": "05 61 00 00 01", "lat": TOULOUSE[0], "lon": TOULOUSE[1],
     "categories": ["Fromagerie"]},
]


@pytest.fixture
def listings(tmp_path: Path) -> Path:
    path = tmp_path / "listings.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in LISTINGS),
                    encoding="utf-8")
    return path


def _link(tmp_path: Path, listings: Path, served: str, *flags: str) -> str:
    result = CliRunner().invoke(main, ["link", str(listings), "--out",
                                       str(tmp_path / "out.csv"), *flags],
                                env={"AGORA_HOME": str(tmp_path / "home"),
                                     "AGORA_TERRITORIES": served})
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 1 + len(LISTINGS)
    return result.stdout


def test_link_keeps_the_points_of_every_served_territory(tmp_path: Path,
                                                         listings: Path) -> None:
    assert "outside" not in _link(tmp_path, listings, "")  # Toulouse and the Grand Nancy
    out = _link(tmp_path, listings, "toulouse")
    assert "1 listings with coordinates outside Toulouse" in out
    assert "1 listings with coordinates outside" in _link(tmp_path, listings, "grand_nancy")
    assert "outside" not in _link(tmp_path, listings, "toulouse", "--no-territory")


def test_the_link_area_is_the_served_territories(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_TERRITORIES", "grand_nancy")
    area = link_area("FR")
    assert area.contains(*NANCY) and not area.contains(*TOULOUSE)
    monkeypatch.setenv("AGORA_TERRITORIES", "toulouse,grand_nancy")
    both = link_area("BE")
    assert both.contains(*NANCY) and both.contains(*TOULOUSE) and both.region == "BE"
    assert link_area(anywhere=True).contains(-33.9, 151.2)
