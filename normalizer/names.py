"""Business names: a display form and a matching form.

The display form is the name as a person would write it: legal form removed
("SARL", "S.A.S.", "(EURL)"), case fixed when the platform shouted it in
capitals, accents kept as given. The matching form (``key``) is folded, lower
case, punctuation turned to spaces, legal forms and French articles dropped,
abbreviations expanded ("ets" -> "etablissements", "st" -> "saint", "&" -> "et"),
so that two platforms' spellings of one shop compare equal.

Example:
    >>> n = normalize_name("SAS LA CAVE DES CARMES")
    >>> n.display, n.key, n.legal_form
    ('La Cave des Carmes', 'cave carmes', 'SAS')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from normalizer.abbreviations import NAME_ABBREVIATIONS
from normalizer.text import fix_case, needs_case_fix, plain, words

# Canonical legal forms, by their letters without dots.
LEGAL_FORMS: dict[str, str] = {f.replace(".", ""): f for f in (
    "SARL", "SAS", "SASU", "EURL", "EIRL", "EI", "SA", "SNC", "SCI", "SCOP", "SELARL",
    "SELAS", "SCA", "SCS", "GIE", "SCEA", "EARL", "GAEC", "SEM", "SARLU",
)}
# Short forms that are also words or initials: removed only when written in capitals
# or with dots ("Sas" may be a shop's name, "SAS" is not).
AMBIGUOUS_FORMS = frozenset({"SA", "SAS", "EI", "SCA", "SCS", "GIE", "SEM", "SCI"})
# Multi-word forms removed from the display and the key.
LEGAL_PHRASES = re.compile(
    r"\b(auto[- ]?entrepreneur|micro[- ]?entreprise|entreprise individuelle)\b", re.I)

# Abbreviations expanded in the matching form (the table the search shares).
ABBREVIATIONS: dict[str, str] = NAME_ABBREVIATIONS
# Words dropped from the matching form: articles and contractions.
STOP_WORDS = frozenset("le la les l de du des d un une au aux a en".split())
#: Legal forms that are no word of their own (folded): dropped from matching forms, and
#: never required of a search ("fleurs martin sarl" finds "Fleurs Martin").
LEGAL_FORM_WORDS = frozenset(k.lower() for k in LEGAL_FORMS if k not in AMBIGUOUS_FORMS)
_EDGE_PUNCT = " ,;:-–—/|·"
_PAREN = re.compile(r"\(\s*([A-Za-z.]{2,9})\s*\)")


@dataclass(frozen=True)
class Name:
    """A name's display form, matching form, its tokens and the legal form found."""

    display: str | None
    key: str | None
    tokens: tuple[str, ...]
    legal_form: str | None


def _legal(token: str) -> str | None:
    """The canonical legal form a token writes, if any ("S.A.R.L." -> "SARL")."""
    bare = token.strip("()[],;:")
    letters = bare.replace(".", "")
    up = letters.upper()
    if up not in LEGAL_FORMS:
        return None
    if up in AMBIGUOUS_FORMS and not (letters.isupper() or "." in bare):
        return None
    return LEGAL_FORMS[up]


def strip_legal_form(name: str) -> tuple[str, str | None]:
    """The name without its legal form, and the form ("SARL Dupont" -> ("Dupont", "SARL"))."""
    found: str | None = None

    def paren(m: re.Match[str]) -> str:
        nonlocal found
        form = _legal(m.group(1))
        if form:
            found = found or form
            return " "
        return m.group(0)

    text = _PAREN.sub(paren, name)
    text, n = LEGAL_PHRASES.subn(" ", text)
    if n and found is None:
        found = "EI"
    tokens = text.split()
    for _ in range(2):
        if len(tokens) > 1:
            form = _legal(tokens[-1])
            if form:
                found = found or form
                tokens.pop()
        if len(tokens) > 1:
            form = _legal(tokens[0])
            if form:
                found = found or form
                tokens.pop(0)
        while tokens and tokens[-1] in _EDGE_PUNCT:
            tokens.pop()
        while tokens and tokens[0] in _EDGE_PUNCT:
            tokens.pop(0)
    text = " ".join(tokens).strip(_EDGE_PUNCT)
    return (text or name), found


_KEEP_UPPER = frozenset({"II", "III", "IV", "BD", "DVD", "CD", "PC", "TV", "HIFI", "USB",
                         "LED", "SOS"})


def display_name(name: str) -> str:
    """The name as shown: case fixed if shouted or all lower case, spaces collapsed."""
    if needs_case_fix(name) and (len(name) > 4 or " " in name):
        return fix_case(name, _KEEP_UPPER)
    return name


def name_key(text: str) -> tuple[str, ...]:
    """Matching tokens of a name: folded, abbreviations expanded, articles dropped."""
    tokens = [ABBREVIATIONS.get(w, w) for w in words(text.replace("&", " et ").replace(
        "+", " et "))]
    kept = [w for w in tokens if w not in STOP_WORDS and w not in LEGAL_FORM_WORDS]
    return tuple(kept or tokens)


@lru_cache(maxsize=100_000)
def normalize_name(raw: str | None) -> Name:
    """Display form, matching form, tokens and legal form of a business name."""
    if not raw:
        return Name(None, None, (), None)
    text = plain(raw).strip(" \"'«»" + _EDGE_PUNCT)
    if not text:
        return Name(None, None, (), None)
    stripped, form = strip_legal_form(text)
    display = display_name(stripped)
    tokens = name_key(stripped)
    key = " ".join(tokens) or None
    return Name(display, key, tokens, form)
