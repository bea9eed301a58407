"""The search probe at a small size: every form asked, and most of them answered.

The probe's queries are written by rules the relevance set was not written with (see
benchmarks/search_probe.py); here on a small world, so a regression of the search on
a form shows in CI, not only when someone runs the benchmark.

The floor is the issue's bar for the relevance set (97 % in the top 3), over the forms
that name the shop (its name as typed, a letter swapped or dropped, abbreviations, the
legal form, the other number, with its commune). ``trade+street`` ("fromagerie rue de
metz") is asked and printed but held to no floor: no engine searches the street of a
shop's address today (documents' ``place_text`` holds communes and postcodes only), so
its figure measures that gap (about 1 in 10 right, by chance) until streets are indexed.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.search_probe import FORMS, probe

REQUIRED = 0.97
NOT_SEARCHED_YET = {"trade+street"}


def test_every_form_is_asked_and_the_name_forms_are_found(tmp_path: Path) -> None:
    lines: list[str] = []
    out = probe(seed=7, shops=60, world_shops=300, per_shop=4, cache=tmp_path, show=True,
                log=lines.append)["embedded"]
    print("\n".join(lines))
    assert set(out) == set(FORMS) and all(total > 0 for _right, total in out.values())
    named = [v for form, v in out.items() if form not in NOT_SEARCHED_YET]
    right, total = sum(r for r, _ in named), sum(n for _, n in named)
    assert total >= 200 and right >= REQUIRED * total, "\n".join(lines)
