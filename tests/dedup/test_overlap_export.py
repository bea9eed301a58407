"""Overlap files: CSV names and headers scripts rely on, the JSON document, the plots."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from dedup.overlap import Membership, OverlapReport, changes_over_time, compute_overlap
from dedup.overlap_export import csv_safe, csv_text, report_document, write_csv, write_tables
from dedup.overlap_plots import plot_bytes, write_plots
from replicas.world import PLATFORMS, World

PLOTS = ("upset_shops", "jaccard_shops", "exclusive_shops")


def memberships(world: World) -> list[Membership]:
    out = []
    for i, p in enumerate(PLATFORMS):
        for s in world.shops_on(p):
            out.append(Membership("shop", p, f"{p}:{s.index}", s.entity_id, commune=s.commune,
                                  category=s.trade, phone="+33" + s.phone[1:]))
        for o in world.offers_on(p):
            out.append(Membership("offer", p, f"{p}:{o.entity_id}", o.entity_id,
                                  shop_entity_id=world.shops[o.shop].entity_id,
                                  price_cents=o.price_cents + 10 * i * (o.product % 2)))
    return out


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=5, shops=300)


@pytest.fixture(scope="module")
def report(world: World) -> OverlapReport:
    return compute_overlap(memberships(world), platforms=PLATFORMS)


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return header, rows


def test_csv_names_and_headers_are_the_documented_ones(report: OverlapReport,
                                                       tmp_path: Path) -> None:
    written = write_tables(report, tmp_path, "csv")
    assert all(p.parent == tmp_path and p.stat().st_size > 0 for p in written)
    headers = {p.name: read_csv(p)[0] for p in written}
    assert headers["platforms.csv"] == ["platform", "shops", "offers", "exclusive_shops",
                                        "shared_shops"]
    for name in ("pairs_shops.csv", "pairs_offers.csv"):
        assert headers[name] == ["platform_a", "platform_b", "both", "jaccard", "a_in_b",
                                 "b_in_a"]
    assert headers["intersections_shops.csv"] == ["platforms", "shops"]
    assert headers["intersections_offers.csv"] == ["platforms", "offers"]
    assert headers["methods.csv"] == ["table", "method"]
    assert {"by_commune.csv", "by_category.csv", "price_differences.csv", "conflicts.csv",
            "platforms_details.csv", "price_offers.csv", "totals.csv"} <= set(headers)
    assert "changes.csv" not in headers


def test_csv_values_match_the_report(report: OverlapReport, tmp_path: Path) -> None:
    write_tables(report, tmp_path)
    _, rows = read_csv(tmp_path / "platforms.csv")
    assert rows == [[r.platform, str(r.shops), str(r.offers), str(r.exclusive_shops),
                     str(r.shared_shops)] for r in report.platforms]
    _, rows = read_csv(tmp_path / "pairs_shops.csv")
    assert len(rows) == len(report.pairs_shops) == 10
    for row, pair in zip(rows, report.pairs_shops, strict=True):
        assert row[:3] == [pair.platform_a, pair.platform_b, str(pair.both)]
        assert [float(x) for x in row[3:]] == [round(pair.jaccard, 4), round(pair.a_in_b, 4),
                                               round(pair.b_in_a, 4)]
        assert all(len(x.split(".")[-1]) <= 4 for x in row[3:])
    _, rows = read_csv(tmp_path / "intersections_shops.csv")
    rank = {p: i for i, p in enumerate(PLATFORMS)}
    for key, count in rows:
        names = key.split("+")
        assert names == sorted(names, key=rank.__getitem__)  # joined in platform order
        assert report.intersections_shops[frozenset(names)] == int(count)
    assert sum(int(c) for _, c in rows) == report.total_shops
    _, methods = read_csv(tmp_path / "methods.csv")
    assert dict(methods) == report.methods


def test_json_round_trip(report: OverlapReport, tmp_path: Path) -> None:
    rows = changes_over_time([("r0", memberships(World.generate(seed=5, shops=300))),
                              ("r1", memberships(World.generate(seed=5, shops=300, epoch=1)))])
    (path,) = write_tables(report, tmp_path, "json", changes=rows)
    assert path.name == "overlap.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc == json.loads(json.dumps(report_document(report, rows)))
    assert doc["platforms"] == list(PLATFORMS)
    assert doc["methods"] == report.methods
    tables = doc["tables"]
    assert tables["platforms"][0] == {
        "platform": "tout_toulouse", "shops": report.platforms[0].shops,
        "offers": report.platforms[0].offers,
        "exclusive_shops": report.platforms[0].exclusive_shops,
        "shared_shops": report.platforms[0].shared_shops}
    assert len(tables["changes"]) == len(PLATFORMS)
    assert {frozenset(r["platforms"].split("+")): r["shops"]
            for r in tables["intersections_shops"]} == report.intersections_shops


def test_changes_csv_and_bad_format(report: OverlapReport, tmp_path: Path) -> None:
    rows = changes_over_time([("r0", []), ("r1", [Membership("shop", "a", "1", "s1")])])
    write_tables(report, tmp_path, changes=rows)
    header, data = read_csv(tmp_path / "changes.csv")
    assert header[:7] == ["from_label", "to_label", "platform", "shops_before", "shops_after",
                          "shops_joined", "shops_left"]
    assert data == [["r0", "r1", "a", "0", "1", "1", "0", "0", "0", "0", "0"]]
    with pytest.raises(ValueError, match="format"):
        write_tables(report, tmp_path, "xlsx")


def check_plots(paths: list[Path], out: Path) -> None:
    assert sorted(p.name for p in paths) == sorted(f"{n}.{f}" for n in PLOTS
                                                   for f in ("png", "svg"))
    for p in paths:
        data = p.read_bytes()
        assert p.parent == out and len(data) > 1000
        if p.suffix == ".png":
            assert data.startswith(b"\x89PNG")
        else:
            assert b"<svg" in data


def test_plots_are_written(report: OverlapReport, tmp_path: Path) -> None:
    paths = write_plots(report, tmp_path / "plots")
    check_plots(paths, tmp_path / "plots")
    svg = (tmp_path / "plots" / "upset_shops.svg").read_text(encoding="utf-8")
    assert "Boutiques par combinaison de plateformes" in svg
    assert "Barres" in svg  # the method sentence is the caption


@pytest.mark.parametrize("ms", [
    [],
    [Membership("shop", "a", "1", "s1"), Membership("shop", "a", "2", "s2")],
    [Membership("shop", "a", "1", "s1"), Membership("shop", "b", "2", "s1")],
], ids=["empty", "one-platform", "one-combination"])
def test_plots_of_degenerate_reports(ms: list[Membership], tmp_path: Path) -> None:
    check_plots(write_plots(compute_overlap(ms), tmp_path), tmp_path)


def test_plot_bytes_for_the_web_page(report: OverlapReport) -> None:
    svg = plot_bytes(report, "jaccard_shops", "svg")
    assert svg == plot_bytes(report, "jaccard_shops", "svg")  # same report, same bytes
    assert b"Indice de Jaccard" in svg
    assert plot_bytes(report, "exclusive_shops", "png").startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="plot"):
        plot_bytes(report, "pie")
    with pytest.raises(ValueError, match="format"):
        plot_bytes(report, "upset_shops", "gif")


HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+33 5 61", "-2+3", "@SUM(A1)",
           "\tTAB", "\rCR"]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_cells_are_neutralised(value: str) -> None:
    assert csv_safe(value) == "'" + value
    assert csv_safe(csv_safe(value)) == "'" + value  # an apostrophe starts no formula


@pytest.mark.parametrize("value", ["Fromagerie", "", None, -3, 2.5, "Toulouse = ville"])
def test_other_cells_are_left_alone(value: object) -> None:
    assert csv_safe(value) == value


def test_agora_overlap_files_neutralise_scraped_communes_and_categories(tmp_path: Path) -> None:
    members = [Membership("shop", "a", "1", "s1", commune=HOSTILE[0], category=HOSTILE[3]),
               Membership("shop", "b", "2", "s1", commune=HOSTILE[0], category=HOSTILE[3]),
               Membership("shop", "b", "3", "s2", commune="Muret", category="=1+1")]
    written = write_tables(compute_overlap(members, platforms=["a", "b"]), tmp_path, "csv")
    cells = [cell for path in written for row in read_csv(path)[1] for cell in row]
    assert "'" + HOSTILE[0] in cells and "'" + HOSTILE[3] in cells and "'=1+1" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")
                or (c[:1] == "-" and not _number(c))]


def test_csv_text_is_the_same_writing(tmp_path: Path) -> None:
    rows = [[HOSTILE[0], 1, None], ["ok", -3, 0.5]]
    with (tmp_path / "x.csv").open("w", encoding="utf-8", newline="") as fh:
        assert write_csv(fh, ["a", "b", "c"], rows) == 2
    assert (tmp_path / "x.csv").read_bytes().decode() == csv_text(["a", "b", "c"], rows)
    assert list(csv.reader(csv_text(["a"], [["-x"]]).splitlines())) == [["a"], ["'-x"]]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
