"""Abbreviations of French business names and addresses, and their full forms: one table.

The normalizer expands them in matching keys (``normalizer.names`` for shop names,
``normalizer.addresses`` for street names) and the search expands a query word to
its other forms at query time (``catalog.backends.french``), so that "Lunetterie St
Aubin" and "Lunetterie Saint Aubin" meet whichever the shopper types. Keys and
values are folded, lower case, without dots.

Example:
    >>> NAME_ABBREVIATIONS["ets"], STREET_NAME_ABBREVIATIONS["mal"]
    ('etablissements', 'marechal')
    >>> sorted(other_forms("saint")), sorted(other_forms("rte"))
    (['st'], ['route'])
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

#: Street types: (display, matching key, every spelling: folded, lower case, no dot).
STREET_TYPES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("rue", "rue", ("r", "rue", "ru")),
    ("ruelle", "ruelle", ("rle", "ruelle")),
    ("boulevard", "boulevard", ("bd", "bld", "blvd", "bvd", "boul", "bl", "boulevard", "boulv")),
    ("avenue", "avenue", ("av", "ave", "aven", "avn", "avenue")),
    ("place", "place", ("pl", "plc", "place")),
    ("allée", "allee", ("all", "al", "allee", "alle")),
    ("allées", "allee", ("allees",)),
    ("chemin", "chemin", ("ch", "chem", "chm", "chemin")),
    ("route", "route", ("rte", "rt", "route")),
    ("impasse", "impasse", ("imp", "impasse")),
    ("quai", "quai", ("qu", "qai", "quai")),
    ("cours", "cours", ("crs", "cours")),
    ("square", "square", ("sq", "squ", "square")),
    ("faubourg", "faubourg", ("fbg", "fg", "faub", "faubourg")),
    ("esplanade", "esplanade", ("esp", "espl", "esplanade")),
    ("promenade", "promenade", ("prom", "pro", "promenade")),
    ("passage", "passage", ("pass", "psge", "psg", "passage")),
    ("rond-point", "rond point", ("rpt", "rdpt", "rond-point")),
    ("résidence", "residence", ("res", "resid", "residence")),
    ("lotissement", "lotissement", ("lot", "lotis", "lotiss", "lotissement")),
    ("hameau", "hameau", ("ham", "hameau")),
    ("sentier", "sentier", ("sent", "sen", "sentier")),
    ("cité", "cite", ("cite", "cit")),
    ("carrefour", "carrefour", ("carr", "car", "carrefour")),
    ("traverse", "traverse", ("tra", "trav", "traverse")),
    ("montée", "montee", ("mte", "montee")),
    ("voie", "voie", ("voie",)),
    ("parvis", "parvis", ("parvis",)),
    ("galerie", "galerie", ("gal", "galerie")),
    ("zone artisanale", "za", ("za",)),
    ("zone industrielle", "zi", ("zi",)),
    ("zone d'activités", "zac", ("zac", "zae")),
)
#: Street-type spellings a search does not read as their type: words of their own
#: (« car », « lot de 6 », « pass », « pro », « sent », « res »), letters and pairs too
#: short to mean a street outside an address (« r », « al », « ch », « qu », « rt »), and
#: « gal » (a general, in TITLES), « psg » (a football club).
_NOT_SEARCHED_STREET_SPELLINGS = frozenset(
    "r ru al all alle bl ch qu rt ave pro pass car lot sent sen res cit tra ham gal psg".split())

#: What ``normalizer.names`` expands in a name's matching form.
NAME_ABBREVIATIONS: dict[str, str] = {**BUSINESS, **SAINTS, **STREET_WORDS}
#: What ``normalizer.addresses`` expands inside a street name.
STREET_NAME_ABBREVIATIONS: dict[str, str] = {**SAINTS, **TITLES}
#: Every one-word abbreviation a shopper may type for a word of a name or an address.
SEARCH_ABBREVIATIONS: dict[str, str] = {
    **{spelling: key for _display, key, spellings in STREET_TYPES for spelling in spellings
       if not spelling.startswith(key) and " " not in key and len(key) > 3
       and spelling not in _NOT_SEARCHED_STREET_SPELLINGS},
    **{short: full for short, full in {**NAME_ABBREVIATIONS, **STREET_NAME_ABBREVIATIONS}.items()
       if " " not in full}}


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
