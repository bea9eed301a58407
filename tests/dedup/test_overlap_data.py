"""The overlap figures' input read from a catalog built by the real pipeline."""

from __future__ import annotations

import pytest

from catalog.store import Catalog
from dedup.overlap_data import memberships, overlap_report, platform_order, snapshots
from replicas.platforms import PLATFORM_CLASSES
from tests.search_ui.helpers import World, build_world

PLATFORMS = list(PLATFORM_CLASSES)  # every replica, in the sources file's order


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.getbasetemp() / "world")


def test_memberships_from_the_catalog(world: World) -> None:
    with Catalog.open_read_only(world.catalog) as catalog:
        ms = memberships(catalog)
        snaps = snapshots(catalog)
    conflict = [m for m in ms if m.source_id in ("conflict-a", "conflict-b")]
    assert len(conflict) == 2 and conflict[0].entity_id == conflict[1].entity_id
    assert {m.phone for m in conflict} == {"+33561112233", "+33562998877"}
    assert all(m.commune == "Toulouse" and m.category == "fromagerie" for m in conflict)
    offer = next(m for m in ms if m.source_id == "xss-product")
    assert offer.kind == "offer" and offer.price_cents == 990 and offer.shop_entity_id
    assert {m.kind for m in ms} == {"shop", "offer"}
    assert platform_order(PLATFORMS, ["geolocal31", "zz", "clickandco"]) == [
        "clickandco", "geolocal31", "zz"]
    assert len(snaps) == 1


def test_report_and_filters(world: World) -> None:
    with Catalog.open_read_only(world.catalog) as catalog:
        data = overlap_report(catalog, PLATFORMS)
        toulouse = overlap_report(catalog, PLATFORMS, commune="toulouse")
        fromagerie = overlap_report(catalog, PLATFORMS, category="fromagerie")
        found = {x["source"] for x in catalog.listings()}
    # every platform with listings in this world (a Toulouse one: none of the Grand Nancy's)
    assert list(data.report.platform_keys) == [p for p in PLATFORMS if p in found]
    assert "achetezgrandnancy" not in found
    assert 0 < toulouse.report.total_shops < data.report.total_shops
    assert 0 < fromagerie.report.total_shops < data.report.total_shops
    assert "Toulouse" in data.communes and "fromagerie" in data.categories
    assert data.changes is None  # one build: nothing to compare yet
