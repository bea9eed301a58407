"""Platform category labels mapped to one taxonomy of trades, by keywords.

Each platform names the trades its own way ("Boulangeries & Pâtisseries",
"boulangerie_patisserie", "Alimentation > Boulangerie", "Pains et gâteaux").
Labels are read as words: accent-folded, split on anything that is not a letter
or digit (snake_case, CamelCase and "A > B" paths included), plurals reduced,
and each word looked up in a synonym table, exactly or by prefix
("fromag" covers fromage, fromages, fromagerie, fromager). Words weigh 3
(names the trade: "boulangerie", "vins"), 2 (points to it: "cave", "jeux") or 1
(a broad department: "mode", "maison"); a few phrases weigh 4 and beat their
words ("fruits de mer" is seafood, not fruit). In a path the most specific segment (the
last) is tried first. A label no word maps is returned empty; the caller flags
it ``unknown_category`` and keeps the raw label.

Example:
    >>> map_category("Alimentation > Vins et spiritueux")
    ('caviste',)
    >>> map_category("Crèmerie-fromagerie"), map_category("beaute_cosmetiques")
    (('fromagerie',), ('cosmetiques',))
"""

from __future__ import annotations

import re
from functools import lru_cache

from normalizer.text import words

#: Trade key -> French display label.
TAXONOMY: dict[str, str] = {
    "boulangerie": "Boulangerie-Pâtisserie",
    "boucherie": "Boucherie-Charcuterie",
    "fromagerie": "Fromagerie",
    "caviste": "Caviste",
    "epicerie_fine": "Épicerie fine",
    "primeur": "Primeur",
    "poissonnerie": "Poissonnerie",
    "chocolatier": "Chocolatier-Confiseur",
    "librairie": "Librairie",
    "fleuriste": "Fleuriste",
    "pret_a_porter": "Prêt-à-porter",
    "chaussures": "Chaussures",
    "bijouterie": "Bijouterie",
    "opticien": "Opticien",
    "quincaillerie": "Quincaillerie-Bricolage",
    "jouets": "Jouets",
    "sport": "Sport",
    "decoration": "Décoration",
    "cosmetiques": "Beauté-Cosmétiques",
    "papeterie": "Papeterie",
    "informatique": "Informatique",
    "cafe_the": "Torréfacteur-Café-Thé",
    "velo": "Cycles",
    "disquaire": "Disquaire",
}

# trade -> "weight:word word* phrase words;..." ; a trailing * marks a prefix, words in
# one entry separated by spaces form a phrase (matched on consecutive words).
_SYNONYMS: dict[str, str] = {
    "boulangerie": "3:boulang* patiss* viennois* fournil pain painier bakery baker* "
                   "pastry patisserie|2:gateau brioche|1:",
    "boucherie": "3:boucher* charcut* viande volaill* triper* butcher* meat|"
                 "2:traiteur gibier salaison|1:",
    "fromagerie": "3:fromag* cremer* cheese*|2:laitier|1:",
    "caviste": "3:cavist* vin spiritueu* vinoth* oenolog* wine* liquor* cellier whisk* "
               "champagne|2:cave biere beer* alcool* rhum|1:",
    "epicerie_fine": "3:epicerie_fine delicatess* gourmet|2:deli epicer* grocer* terroir* "
                     "conserverie|1:alimentation",
    "primeur": "3:primeur* fruit legume greengrocer* maraich*|2:verger|1:",
    "poissonnerie": "4:fruit_de_mer produit_de_la_mer|3:poissonn* poisson crustace* "
                    "seafood fishmonger* fish|2:maree huitre coquillage ecailler|1:",
    "chocolatier": "3:chocolat* confis* confectioner* candy* chocolate*|2:douceur "
                   "bonbon* sucrerie praline* nougat* calisson*|1:",
    "librairie": "3:librair* livre bouquin* book* bookshop* bookstore*|2:bd manga* "
                 "bande_dessinee|1:",
    "fleuriste": "3:fleur fleuris* florist* flower* floral|2:plante jardinerie horticult*|1:",
    "pret_a_porter": "3:vetement* habill* pret_a_porter clothing cloth* apparel* "
                     "fashion boutique_mode|2:textile lingerie friperie mode_femme "
                     "mode_homme|1:mode",
    "chaussures": "3:chaussur* shoe* footwear*|2:maroquin* cordonn* bottier leather*|1:",
    "bijouterie": "3:bijou* joaill* horlog* jewel* jewellery jewelry|2:montre watch*|1:",
    "opticien": "3:opticien* optique optician* optic* lunett* eyewear|2:vision|1:",
    "quincaillerie": "3:quincaill* bricol* hardware* doityourself diy|2:outill* "
                     "droguerie outil|1:",
    "jouets": "3:jouet* toy* toys|2:jeu ludo* puzzle game*|1:",
    "sport": "3:sport* sporting|2:rugby fitness randonnee outdoor|1:",
    "decoration": "3:deco* decor* interior_decoration|2:interieur ameublement meuble* "
                  "furniture home_decor art_de_la_table homeware*|1:maison home",
    "cosmetiques": "3:beaute cosmeti* parfum* perfum* beauty|2:bien_etre esthetique* "
                   "soin_corps soin|1:",
    "papeterie": "3:papet* stationer*|2:fourniture* stylo|1:",
    "informatique": "3:informati* ordinateur* computer*|2:telephon* high_tech multimedia "
                    "electroni* numerique mobile_phone|1:",
    "cafe_the": "3:cafe torrefact* coffee* tea|2:the infusion|1:",
    "velo": "3:velo* cycle cyclis* bicyclet* bicycle* bike*|2:|1:",
    "disquaire": "3:disqu* vinyle* record* music_store|2:musique music* musical|1:",
}

_EXACT: dict[str, tuple[str, int]] = {}
_PREFIX: dict[str, tuple[str, int]] = {}
_PHRASES: list[tuple[str, str, int]] = []


def singular(word: str) -> str:
    """A French or English plural reduced: 'gâteaux' -> 'gateau', 'vins' -> 'vin'."""
    if len(word) > 3 and word[-1] in "sx" and not word.endswith(("ss", "us")):
        return word[:-1]
    return word


def _load() -> None:
    for trade, spec in _SYNONYMS.items():
        for part in spec.split("|"):
            weight_text, _, entries = part.partition(":")
            weight = int(weight_text)
            for entry in entries.split():
                if "_" in entry:
                    phrase = " ".join(singular(w) for w in entry.split("_"))
                    _PHRASES.append((f" {phrase} ", trade, weight))
                elif entry.endswith("*"):
                    _PREFIX.setdefault(entry[:-1], (trade, weight))
                else:
                    _EXACT.setdefault(singular(entry), (trade, weight))


_load()
_MIN_PREFIX = min(len(p) for p in _PREFIX)
_SEGMENTS = re.compile(r"\s*(?:>|»|›|/|\||::|→)\s*")
_CAMEL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-Z])")


@lru_cache(maxsize=20_000)
def _word_hit(word: str) -> tuple[str, int] | None:
    hit = _EXACT.get(word)
    if hit:
        return hit
    for n in range(len(word), _MIN_PREFIX - 1, -1):
        hit = _PREFIX.get(word[:n])
        if hit:
            return hit
    return None


def _segment_trades(segment: str) -> tuple[str, ...]:
    tokens = [singular(w) for w in words(_CAMEL.sub(" ", segment))]
    if not tokens:
        return ()
    scores: dict[str, int] = {}
    order: dict[str, int] = {}
    joined = " " + " ".join(tokens) + " "
    for phrase, trade, weight in _PHRASES:
        if phrase in joined:
            pos = joined.index(phrase)
            if weight > scores.get(trade, 0):
                scores[trade] = weight
            order.setdefault(trade, pos)
    accented_the = "thé" in segment.lower()
    for token in tokens:
        hit = _word_hit(token)
        if not hit or (token == "the" and not accented_the):  # English "the", not "thé"
            continue
        trade, weight = hit
        if weight > scores.get(trade, 0):
            scores[trade] = weight
        order.setdefault(trade, joined.find(f" {token} "))
    if not scores:
        return ()
    best = max(scores.values())
    # every trade named outright ("Boulangerie-Pâtisserie & Chocolaterie"), unless a
    # phrase beats them ("Fruits de mer" is not fruit)
    keep = [t for t, s in scores.items() if s == best or (best == 3 and s == 3)]
    return tuple(sorted(keep, key=lambda t: (-scores[t], order[t])))


@lru_cache(maxsize=20_000)
def map_category(label: str | None) -> tuple[str, ...]:
    """Taxonomy keys a label names, best first; () when no word of it is known."""
    if not label:
        return ()
    for segment in reversed([s for s in _SEGMENTS.split(label) if s.strip()]):
        trades = _segment_trades(segment)
        if trades:
            return trades
    return ()
