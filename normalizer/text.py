"""Text helpers shared by the normalizer: accent folding, tokens, French case fixing.

Everything here is a pure function of its argument; the hot ones are cached per
distinct string (listings repeat the same words, labels and titles a lot).

Example:
    >>> fold("Crèmerie-Fromagerie œuvre")
    'Cremerie-Fromagerie oeuvre'
    >>> words("L'Épicerie & Co.")
    ['l', 'epicerie', 'co']
    >>> fix_case("LA CAVE D'OCCITANIE")
    "La Cave d'Occitanie"
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Ligatures and signs NFKD leaves alone, and typographic variants met on the sites.
_EXTRA = str.maketrans({
    "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l",
    "Ł": "L", "đ": "d", "Đ": "D",
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u200b": "",
})
# Display text keeps its accents and dashes; only quotes and odd spaces are made plain.
_TYPO = str.maketrans({
    "\u2019": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u200b": "",
})
_WORD = re.compile(r"[a-z0-9]+")

# Words kept lower case inside a French proper name ("La Cave des Carmes").
SMALL_WORDS = frozenset(
    "de du des la le les et à a au aux en sur sous lès les d l par pour chez".split())
ELISIONS = ("d'", "l'", "D'", "L'")


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Accents and ligatures removed, typographic quotes, dashes and spaces made plain."""
    if text.isascii():
        return text
    text = text.translate(_EXTRA)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def plain(text: str) -> str:
    """Apostrophes and odd spaces made plain, accents and dashes kept, spaces collapsed."""
    if not text.isascii():
        text = text.translate(_TYPO)
    return " ".join(text.split())


@lru_cache(maxsize=200_000)
def words(text: str) -> list[str]:
    """Folded lower-case alphanumeric words; every other character separates."""
    return _WORD.findall(fold(text).lower())


def is_shouting(text: str) -> bool:
    """True for text written in capitals (at least two letters, no lower case)."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 2 and not any(c.islower() for c in letters)


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:].lower() if word else word


def _fix_word(word: str, first: bool, keep_upper: frozenset[str]) -> str:
    if not word:
        return word
    bare = word.strip("().,;:!?\"«»")
    if bare.upper() in keep_upper:
        return word.upper()
    if any(ch.isdigit() for ch in word):
        return word.lower() if not first else word
    if "-" in word:
        parts = word.split("-")
        return "-".join(_fix_word(p, first and i == 0, keep_upper) if i == 0
                        else _fix_word(p, False, keep_upper) for i, p in enumerate(parts))
    lower = word.lower()
    if len(lower) > 2 and lower[1] == "'" and lower[0] in "dl":
        head = lower[:2] if not first else lower[0].upper() + "'"
        return head + _cap(lower[2:])
    if not first and lower in SMALL_WORDS:
        return lower
    return _cap(lower)


@lru_cache(maxsize=100_000)
def fix_case(text: str, keep_upper: frozenset[str] = frozenset()) -> str:
    """French title case for text shouted in capitals or written all in lower case.

    Small words (de, la, des...) stay lower case except first; elided d'/l' too;
    hyphenated parts are each capitalised; words in ``keep_upper`` stay capitals.
    """
    out = []
    for i, word in enumerate(text.split(" ")):
        out.append(_fix_word(word, i == 0, keep_upper))
    return " ".join(out)


def needs_case_fix(text: str) -> bool:
    """True when the text has letters in one case only (ALL CAPS or all lower)."""
    has_upper = has_lower = False
    for c in text:
        if c.isalpha():
            if c.isupper():
                has_upper = True
            elif c.islower():
                has_lower = True
            if has_upper and has_lower:
                return False
    return has_upper != has_lower


def bounded(value: object, limit: int = 200) -> str:
    """A raw value as text for a flag, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value) if not isinstance(
        value, int | float) else str(value)
    return text[:limit]
