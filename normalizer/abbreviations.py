"""Abbreviations of French business names and addresses, and their full forms: one table.

The normalizer expands them in matching keys (``normalizer.names`` for shop names,
``normalizer.addresses`` for street names) and the search expands a query word to
its other forms at query time (``catalog.backends.french``), so that "Lunetterie St
Aubin" and "Lunetterie Saint Aubin" meet whichever the shopper types. Keys and
values are folded, lower case, without dots.

Example:
    >>> NAME_ABBREVIATIONS["ets"], STREET_NAME_ABBREVIATIONS["mal"]
    ('etablissements', 'marechal')
    >>> sorted(other_forms("saint")), sorted(other_forms("av"))
    (['st'], ['avenue'])
"""

from __future__ import annotations

from functools import lru_cache

#: Saints, in shop names, street names and communes alike.
SAINTS: dict[str, str] = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
#: Words of business names.
BUSINESS: dict[str, str] = {
    "ets": "etablissements", "etabs": "etablissements", "etab": "etablissements",
    "mson": "maison", "msn": "maison", "cie": "compagnie", "gds": "grands", "gd": "grand",
    "gde": "grande", "frs": "freres",
}
#: Street types as they appear inside shop names ("Pharmacie Pl. du Capitole").
STREET_WORDS: dict[str, str] = {"bd": "boulevard", "av": "avenue", "pl": "place"}
#: Titles inside street names ("Av. du Mal Leclerc").
TITLES: dict[str, str] = {
    "gal": "general", "gen": "general", "gl": "general", "mal": "marechal",
    "pdt": "president", "dr": "docteur", "cdt": "commandant", "cmdt": "commandant",
    "lt": "lieutenant", "prof": "professeur", "mgr": "monseigneur", "nd": "notre dame",
}

#: What ``normalizer.names`` expands in a name's matching form.
NAME_ABBREVIATIONS: dict[str, str] = {**BUSINESS, **SAINTS, **STREET_WORDS}
#: What ``normalizer.addresses`` expands inside a street name.
STREET_NAME_ABBREVIATIONS: dict[str, str] = {**SAINTS, **TITLES}
#: Every one-word abbreviation a shopper may type for a word of a name or an address.
SEARCH_ABBREVIATIONS: dict[str, str] = {
    short: full for short, full in {**NAME_ABBREVIATIONS, **STREET_NAME_ABBREVIATIONS}.items()
    if " " not in full}


def _full_forms() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for short, full in SEARCH_ABBREVIATIONS.items():
        out.setdefault(full, set()).add(short)
    return {full: frozenset(shorts) for full, shorts in out.items()}


_SHORT_FORMS = _full_forms()


@lru_cache(maxsize=4096)
def other_forms(word: str) -> frozenset[str]:
    """The other ways of writing one folded word: its full form, or its abbreviations."""
    full = SEARCH_ABBREVIATIONS.get(word)
    if full is not None:
        return frozenset({full}) | (_SHORT_FORMS.get(full, frozenset()) - {word})
    return _SHORT_FORMS.get(word, frozenset())
