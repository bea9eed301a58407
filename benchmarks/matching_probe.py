"""Matching probed with listings written the way the replicas never write them.

The replicas and the matcher were written by the same hands; this probe asks how the
matcher takes listings of one more platform, "probe", whose writing rules are none of
the replicas': for shops of a replica world (hard noise), a copy written in one form
each — capitals without accents, the registry's legal name with the head office's
SIRET, an international phone and abbreviated street types, an abbreviated name, two
letters swapped, no identifier at all — and shops that must stay apart: another trade
at the same address, the same name in another street, a chain's other shop (same
name, SIREN and switchboard, another SIRET and address). For offers, the probe lists
a shop's items with their titles rewritten: quantities in another unit (250 g ->
0,25 kg, 75 cl -> 750 ml), capitals without accents, a letter typo, the brand moved
out of the title, a GTIN-14, a price 8 % off with a marketing prefix — and, to stay
apart, the same title with another quantity.

Each form's count of right decisions is printed (a probe copy is right when it lands
in its original's entity, or, for the forms that must stay apart, when it does not).
The forms were written from the issue's error classes and the public benchmarks, not
from this matcher's errors; a figure here is a floor, as any written by the project.

    .venv/bin/python benchmarks/matching_probe.py [--shops 1500] [--seed 42] [--per-form 25]
        [--show]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.matching_replicas import world_listings  # noqa: E402
from dedup.features import listing_key  # noqa: E402
from dedup.linker import link  # noqa: E402
from dedup.settings import load_settings  # noqa: E402
from normalizer import normalize_listing  # noqa: E402
from normalizer.identifiers import luhn_ok  # noqa: E402

PROBE = "probe"
SURNAMES = ("MARTIN", "GARCIA", "ROUX", "FABRE", "BLANC", "MERCIER", "DUPUY", "LOPEZ")
STREET_TYPES = (("rue ", "r. "), ("place ", "pl. "), ("avenue ", "av. "),
                ("boulevard ", "bd "), ("allées ", "all. "), ("Saint-", "St-"))
Listing = dict[str, Any]


def plain_capitals(text: str) -> str:
    """Capitals without accents, as some registries and exports write."""
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn").upper()


def international(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return "+33 " + digits[1] + " " + " ".join(digits[i:i + 2] for i in range(2, 10, 2))


def swap_letters(text: str, rng: random.Random) -> str:
    words = [w for w in re.findall(r"[^\W\d]{5,}", text)]
    if not words:
        return text
    word = max(words, key=len)
    i = rng.randrange(1, len(word) - 2)
    return text.replace(word, word[:i] + word[i + 1] + word[i] + word[i + 2:], 1)


def other_siret(siret: str, start: int) -> str:
    """A valid SIRET of the same company (SIREN), another establishment."""
    for nic in range(start, start + 100):
        candidate = siret[:9] + f"{nic:05d}"
        if candidate != siret and luhn_ok(candidate):
            return candidate
    raise ValueError(siret)


def random_phone(rng: random.Random) -> str:
    return "05 34 " + " ".join(f"{rng.randrange(100):02d}" for _ in range(3))


# ------------------------------------------------------------------ shop forms
def _shop_forms(rng: random.Random) -> dict[str, tuple[bool, Callable[[Listing], Listing | None]]]:
    def caps(y: Listing) -> Listing:
        y["name"], y["address"] = plain_capitals(y["name"]), plain_capitals(y["address"])
        y.pop("siret", None)
        return y

    def legal(y: Listing) -> Listing | None:
        if not y.get("siret"):
            return None
        y["name"] = rng.choice(("SARL ", "SAS ", "EURL ")) + rng.choice(SURNAMES)
        y["siret"] = other_siret(y["siret"], 21)
        return y

    def phone_street(y: Listing) -> Listing | None:
        if not y.get("phone"):
            return None
        y["phone"] = international(y["phone"])
        for full, short in STREET_TYPES:
            y["address"] = y["address"].replace(full, short)
        y.pop("siret", None)
        return y

    def short_name(y: Listing) -> Listing:
        for full, short in (("&", "et"), ("Saint", "St"), ("Le ", ""), ("La ", ""), ("Les ", "")):
            y["name"] = y["name"].replace(full, short)
        y.pop("siret", None)
        y.pop("phone", None)
        return y

    def typo(y: Listing) -> Listing:
        y["name"] = swap_letters(y["name"], rng)
        y.pop("siret", None)
        y.pop("phone", None)
        return y

    def no_identifier(y: Listing) -> Listing:
        for key in ("siret", "phone", "website", "email"):
            y.pop(key, None)
        return y

    def other_trade_same_address(y: Listing) -> Listing:
        y["name"] = rng.choice(("Pharmacie ", "Optique ", "Fleurs ", "Tabac ")) + \
            rng.choice(SURNAMES).title()
        y["phone"] = random_phone(rng)
        for key in ("siret", "website", "email"):
            y.pop(key, None)
        return y

    def same_name_elsewhere(y: Listing) -> Listing:
        y.update(address="12 rue de la République", postcode="31300", lat=43.600, lon=1.420,
                 phone=random_phone(rng))
        for key in ("siret", "website", "email"):
            y.pop(key, None)
        return y

    def chain_other_shop(y: Listing) -> Listing | None:
        if not y.get("siret") or not y.get("phone"):
            return None
        y.update(siret=other_siret(y["siret"], 47), address="3 avenue de Fronton",
                 postcode="31200")
        for key in ("lat", "lon", "website", "email"):
            y.pop(key, None)
        return y

    return {"shop: capitals": (True, caps),
            "shop: legal name + head office SIRET": (True, legal),
            "shop: +33 phone, abbreviated street": (True, phone_street),
            "shop: abbreviated name": (True, short_name),
            "shop: letters swapped": (True, typo),
            "shop: no identifier": (True, no_identifier),
            "shop APART: another trade, same address": (False, other_trade_same_address),
            "shop APART: same name, other street": (False, same_name_elsewhere),
            "shop APART: chain's other shop": (False, chain_other_shop)}


# ------------------------------------------------------------------ offer forms
_QTY = re.compile(r"(\d+(?:[.,]\d+)?)\s*(kg|g|cl|ml|l)\b", re.IGNORECASE)
_OTHER_UNIT = {"g": ("kg", Decimal("0.001")), "kg": ("g", Decimal(1000)),
               "cl": ("ml", Decimal(10)), "ml": ("cl", Decimal("0.1")),
               "l": ("cl", Decimal(100))}


def _number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


def _offer_forms(rng: random.Random) -> dict[str, tuple[bool, Callable[[Listing], Listing | None]]]:
    def other_unit(y: Listing) -> Listing | None:
        m = _QTY.search(y["title"])
        if not m:
            return None
        unit, factor = _OTHER_UNIT[m.group(2).lower()]
        value = Decimal(m.group(1).replace(",", ".")) * factor
        y["title"] = y["title"][:m.start()] + f"{_number(value)} {unit}" + y["title"][m.end():]
        y.pop("gtin", None)
        return y

    def caps(y: Listing) -> Listing:
        y["title"] = plain_capitals(y["title"])
        y.pop("gtin", None)
        return y

    def typo(y: Listing) -> Listing:
        y["title"] = swap_letters(y["title"], rng)
        y.pop("gtin", None)
        return y

    def brand_out(y: Listing) -> Listing | None:
        brand = y.get("brand")
        if not brand or brand not in y["title"] or 2 * len(brand) > len(y["title"]):
            return None
        y["title"] = re.sub(r"\s+", " ", y["title"].replace(brand, "")).strip()
        y.pop("gtin", None)
        return y

    def gtin14(y: Listing) -> Listing | None:
        if not y.get("gtin") or len(y["gtin"]) != 13:
            return None
        y["gtin"] = "0" + y["gtin"]
        y["title"] = y["title"] + " - réf. " + y["gtin"][-6:]
        return y

    def price_and_prefix(y: Listing) -> Listing | None:
        if y.get("price") is None:
            return None
        y["price"] = round(float(y["price"]) * 0.92, 2)
        y["title"] = rng.choice(("Nouveau ! ", "Coup de cœur : ", "Exclusif - ")) + y["title"]
        y.pop("gtin", None)
        return y

    def other_quantity(y: Listing) -> Listing | None:
        m = _QTY.search(y["title"])
        if not m:
            return None
        value = Decimal(m.group(1).replace(",", ".")) * 2
        y["title"] = y["title"][:m.start()] + f"{_number(value)} {m.group(2)}" + \
            y["title"][m.end():]
        y.pop("gtin", None)
        return y

    return {"offer: quantity in another unit": (True, other_unit),
            "offer: capitals": (True, caps), "offer: letters swapped": (True, typo),
            "offer: brand out of the title": (True, brand_out),
            "offer: GTIN-14 and a reference": (True, gtin14),
            "offer: price -8 % and a marketing prefix": (True, price_and_prefix),
            "offer APART: twice the quantity": (False, other_quantity)}


# ------------------------------------------------------------------ the probe
def probe(seed: int, shops: int, per_form: int, show: bool) -> dict[str, tuple[int, int]]:
    rng = random.Random(seed)
    listings, _truth_shop, _truth_offer = world_listings(seed, shops, noise="hard")
    base_source = "tout_toulouse"
    shop_rows = [x for x in listings if x["source"] == base_source and x["kind"] == "shop"]
    offers_of: dict[str, list[Listing]] = {}
    for x in listings:
        if x["source"] == base_source and x["kind"] == "product" and x.get("shop_source_id"):
            offers_of.setdefault(x["shop_source_id"], []).append(x)
    rng.shuffle(shop_rows)
    probes: list[Listing] = []
    expected: dict[str, tuple[str, bool, str]] = {}  # probe key -> (form, together, original)
    counter = iter(range(10**9))

    def add(form: str, together: bool, original: Listing, copy: Listing) -> None:
        copy.update(source=PROBE, source_id=f"p{next(counter)}")
        copy["url"] = f"https://probe.example/{copy['source_id']}"
        probes.append(copy)
        expected[listing_key(PROBE, copy["source_id"])] = (
            form, together, listing_key(original["source"], original["source_id"]))

    pool = iter(shop_rows)
    for form, (together, write) in _shop_forms(rng).items():
        made = 0
        while made < per_form:
            original = next(pool, None)
            if original is None:
                break
            copy = write(dict(original))
            if copy is not None:
                add(form, together, original, copy)
                made += 1
    # offers: the probe lists the (unchanged) shop and rewritten items of it
    sellers = [s for s in shop_rows if offers_of.get(s["source_id"])]
    rng.shuffle(sellers)
    for form, (together, write) in _offer_forms(rng).items():
        made = 0
        for shop in sellers:
            if made >= per_form:
                break
            candidates = [o for o in offers_of[shop["source_id"]]]
            rng.shuffle(candidates)
            for original in candidates:
                copy = write(dict(original))
                if copy is None:
                    continue
                shop_copy = dict(shop, source=PROBE, source_id=f"shop-{shop['source_id']}")
                if not any(p["source_id"] == shop_copy["source_id"] for p in probes):
                    probes.append(shop_copy)
                copy["shop_source_id"] = shop_copy["source_id"]
                add(form, together, original, copy)
                made += 1
                break
    t = time.perf_counter()
    cleans = [normalize_listing(x) for x in listings + probes]
    result = link(cleans, load_settings())
    elapsed = time.perf_counter() - t
    member = result.membership
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    by_key = {listing_key(x["source"], x["source_id"]): x for x in listings + probes}
    for key, (form, wanted, original_key) in expected.items():
        same = member.get(key) is not None and member.get(key) == member.get(original_key)
        total[form] += 1
        right[form] += same == wanted
        if show and same != wanted:
            a, b = by_key[key], by_key[original_key]
            label = "name" if a["kind"] == "shop" else "title"
            print(f"  miss [{form}] {a.get(label)!r} {a.get('phone') or a.get('price')} "
                  f"<-> {b.get(label)!r} {b.get('phone') or b.get('price')}")
    print(f"probe: {len(probes):,} listings of platform 'probe' beside {len(listings):,} "
          f"of a hard-noise world (seed {seed}, {shops:,} shops); normalized and linked in "
          f"{elapsed:.1f}s")
    out = {}
    for form in total:
        out[form] = (right[form], total[form])
        print(f"  {form:<42} {right[form]:>3} / {total[form]:<3} right")
    merge = [v for f, v in out.items() if "APART" not in f]
    apart = [v for f, v in out.items() if "APART" in f]
    for label, rows in (("to merge", merge), ("to keep apart", apart)):
        r, n = sum(x for x, _ in rows), sum(y for _, y in rows)
        print(f"  all forms {label}: {r} / {n} ({r / max(n, 1):.1%})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shops", type=int, default=1500)
    parser.add_argument("--per-form", type=int, default=25)
    parser.add_argument("--show", action="store_true", help="print every wrong decision")
    args = parser.parse_args()
    probe(args.seed, args.shops, args.per_form, args.show)


if __name__ == "__main__":
    main()
