"""Text damaged by a wrong encoding, repaired: UTF-8 read as Latin-1 or Windows-1252.

A page saved as UTF-8 and read back as Latin-1 shows "CrÃ¨me" for "Crème" and
"50 â‚¬" for "50 €" (mojibake). The bytes are all still there, so encoding the
text back to the wrong charset and decoding it as UTF-8 restores it; the repair
is kept only when it decodes cleanly and leaves fewer of the telltale
characters, so a text that merely contains "Ã" (a Portuguese name) is left as is.

Example:
    >>> repair_mojibake("OrchidÃ©e phalaenopsis, 50 â‚¬")
    'Orchidée phalaenopsis, 50 €'
    >>> repair_mojibake("São Paulo")
    'São Paulo'
"""

from __future__ import annotations

import re
from functools import lru_cache

# a lead byte of a two- or three-byte UTF-8 sequence read as Latin-1/1252, then a follower
_SUSPECT = re.compile("[\u00c2-\u00df][\u0080-\u00bf\u2018-\u203a\u20ac\u0152-\u0178\u02c6\u02dc]"
                      "|[\u00e0-\u00ef][\u0080-\u00bf\u2018-\u203a\u20ac\u0152-\u0178]{2}")


def _telltales(text: str) -> int:
    return len(_SUSPECT.findall(text))


@lru_cache(maxsize=100_000)
def repair_mojibake(text: str) -> str:
    """The text with UTF-8 read as Latin-1/Windows-1252 turned back into UTF-8."""
    if text.isascii() or not _SUSPECT.search(text):
        return text
    for charset in ("cp1252", "latin-1"):
        try:
            fixed = text.encode(charset).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if _telltales(fixed) < _telltales(text):
            return fixed
    return text
