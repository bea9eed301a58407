"""Opening hours in any of the forms met, to one canonical OpenStreetMap-style string.

Understood: OSM rules ("Tu-Sa 09:30-12:30,14:00-19:00; Su 07:00-13:00"),
schema.org lists joined with "; " ("Tu-Sa 09:30-12:30; Tu-Sa 14:00-19:00"),
English day names, and French prose ("Du mardi au samedi de 9h30 à 12h30 et de
14h à 19h ; le dimanche de 7h à 13h", "Lun-Ven : 9h-18h, fermé le lundi", "tous
les jours sauf le lundi", "7j/7", "24h/24"). The canonical form lists each
group of days sharing the same hours, in day order, with their ranges merged
and sorted: "Tu-Sa 09:30-12:30,14:00-19:00; Su 07:00-13:00". Two days in a row
are written "Sa,Su", three or more "Mo-Fr".

Rules for the same days add up (a schema.org list gives one range per entry),
except a rule for a strict subset of an earlier rule's days, which replaces it
(OSM "Mo-Sa 09:00-19:00; We 09:00-12:00"), and "off"/"fermé", which closes.
Text with words that are not about hours ("sur rendez-vous", dates, holidays
other than "PH off") is not guessed at: ``None`` and the caller flags it.

Example:
    >>> normalize_hours("Du mardi au samedi de 9h30 à 12h30 et de 14h à 19h")
    'Tu-Sa 09:30-12:30,14:00-19:00'
    >>> normalize_hours("Tu-Sa 09:30-12:30; Tu-Sa 14:00-19:00")
    'Tu-Sa 09:30-12:30,14:00-19:00'
"""

from __future__ import annotations

import re
from functools import lru_cache

from normalizer.text import fold

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_DAY_WORDS: dict[str, int] = {}
for _i, _names in enumerate((
    "mo mon monday lu lun lundi lundis",
    "tu tue tues tuesday ma mar mardi mardis",
    "we wed wednesday me mer merc mercredi mercredis",
    "th thu thur thurs thursday je jeu jeudi jeudis",
    "fr fri friday ve ven vend vendredi vendredis",
    "sa sat saturday sam samedi samedis",
    "su sun sunday di dim dimanche dimanches",
)):
    for _w in _names.split():
        _DAY_WORDS[_w] = _i

_RANGE_WORDS = frozenset(("au", "a", "to", "till", "until", "jusqu", "jusque", "through"))
_LIST_WORDS = frozenset(("et", "and", "puis"))
_CLOSED_WORDS = frozenset(("ferme", "fermee", "fermes", "closed", "off", "fermeture", "repos"))
_EXCEPT_WORDS = frozenset(("sauf", "except", "hors", "excepte"))
_HOLIDAY_WORDS = frozenset(("ph", "feries", "ferie", "holiday", "holidays", "sh"))
_NOISE_WORDS = frozenset((
    "de", "du", "des", "le", "la", "les", "l", "d", "h", "ouvert", "ouverte", "ouverts",
    "ouverture", "open", "opening", "horaires", "horaire", "heures", "hours", "matin", "soir",
    "non", "stop", "nonstop", "continu", "continue", "sans", "interruption", "journee",
    "from", "on", "the", "uniquement", "seulement", "en", "y", "compris", "inclus", "on",
    "magasin", "boutique", "each", "every", "jours", "jour", "semaine", "par", "chaque", "at",
))
_TOKEN = re.compile(
    r"(?P<always>24\s*h?\s*/\s*24\s*,?\s*(?:7\s*j?\s*/\s*7)?|24\s*/\s*7)"
    r"|(?P<everyday>7\s*j(?:ours)?\s*/\s*7|7\s*/\s*7|tous\s+les\s+jours|everyday|daily"
    r"|chaque\s+jour|all\s+week)"
    r"|(?P<noise>apres\s*-?\s*midi|l'apres\s*-?\s*midi)"
    r"|(?P<time>\d{1,2}\s*(?:h|:)\s*\d{2}|\d{1,2}\s*h(?![a-z])|\d{1,2}\s*(?:am|pm)"
    r"|\d{1,2}\.\d{2}(?!\d)|midi|minuit|noon|midnight)"
    r"|(?P<num>\d{1,4})"
    r"|(?P<word>[a-z]+)"
    r"|(?P<rule>[;|\n])"
    r"|(?P<range>[-~])"
    r"|(?P<list>[,/&+])"
    r"|(?P<skip>[\s.:'\"()\[\]])"
    r"|(?P<other>.)"
)
_TIME_PARTS = re.compile(r"(\d{1,2})\s*(?:h|:|\.)?\s*(\d{2})?\s*(am|pm)?")


def _time(text: str, end: bool) -> int | None:
    if text in ("midi", "noon"):
        return 720
    if text in ("minuit", "midnight"):
        return 1440 if end else 0
    m = _TIME_PARTS.fullmatch(text.replace(" ", ""))
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3) == "pm" and hour < 12:
        hour += 12
    elif m.group(3) == "am" and hour == 12:
        hour = 0
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        return None
    return hour * 60 + minute


def _tokens(text: str) -> list[tuple[str, object]] | None:
    out: list[tuple[str, object]] = []
    for m in _TOKEN.finditer(fold(text).lower()):
        kind = m.lastgroup
        value = m.group()
        if kind in ("skip", "noise"):
            continue
        if kind == "other":
            return None
        if kind == "num":
            if len(value) > 2 or int(value) > 24:
                return None
            kind = "time"
        if kind == "word":
            if value in _DAY_WORDS:
                out.append(("day", _DAY_WORDS[value]))
            elif value in _RANGE_WORDS:
                out.append(("range", value))
            elif value in _LIST_WORDS:
                out.append(("list", value))
            elif value in _CLOSED_WORDS:
                out.append(("closed", value))
            elif value in _EXCEPT_WORDS:
                out.append(("except", value))
            elif value in _HOLIDAY_WORDS:
                out.append(("holiday", value))
            elif value in _NOISE_WORDS:
                continue
            else:
                return None
            continue
        out.append((kind or "other", value))
    return out


class _Rule:
    __slots__ = ("days", "excluded", "times", "closed", "holiday")

    def __init__(self) -> None:
        self.days: set[int] = set()
        self.excluded: set[int] = set()
        self.times: list[tuple[int, int]] = []
        self.closed = False
        self.holiday = False

    @property
    def complete(self) -> bool:
        return bool(self.days) and (bool(self.times) or self.closed)

    @property
    def empty(self) -> bool:
        return not (self.days or self.times or self.closed or self.holiday or self.excluded)


def _day_span(a: int, b: int) -> set[int]:
    return {(a + k) % 7 for k in range(((b - a) % 7) + 1)}


def _parse(tokens: list[tuple[str, object]]) -> list[_Rule] | None:
    rules: list[_Rule] = []
    rule = _Rule()
    excluding = False
    i, n = 0, len(tokens)

    def finish() -> None:
        nonlocal rule, excluding
        if not rule.empty:
            rules.append(rule)
        rule = _Rule()
        excluding = False

    while i < n:
        kind, value = tokens[i]
        if kind == "day":
            if rule.complete:
                finish()
            days = {int(value)}  # type: ignore[call-overload]
            j = i + 1
            while j < n and tokens[j][0] == "range":
                j += 1
            if j > i + 1 and j < n and tokens[j][0] == "day":
                days = _day_span(int(value), int(tokens[j][1]))  # type: ignore[call-overload]
                i = j
            (rule.excluded if excluding else rule.days).update(days)
        elif kind == "everyday":
            if rule.complete:
                finish()
            rule.days.update(range(7))
        elif kind == "always":
            if rule.complete:
                finish()
            rule.days.update(range(7))
            rule.times.append((0, 1440))
        elif kind == "time":
            j = i + 1
            while j < n and tokens[j][0] == "range":
                j += 1
            if j == i + 1 or j >= n or tokens[j][0] != "time":
                return None
            start = _time(str(value), end=False)
            end = _time(str(tokens[j][1]), end=True)
            if start is None or end is None or start == end:
                return None
            if end < start:
                end += 1440  # past midnight
            if rule.closed and rule.days:
                finish()
            rule.times.append((start, end))
            i = j
        elif kind == "closed":
            if rule.days and rule.times:
                finish()
            rule.closed = True
        elif kind == "except":
            excluding = True
        elif kind == "holiday":
            if rule.complete:
                finish()
            rule.holiday = True
        elif kind == "rule":
            finish()
        elif kind == "range":
            return None
        # "list" separators only separate
        i += 1
    finish()
    return rules


def _apply(rules: list[_Rule]) -> dict[int, list[tuple[int, int]]] | None:
    table: dict[int, list[tuple[int, int]]] = {}
    set_by: dict[int, int] = {}  # day -> size of the day set of the rule that set it
    for rule in rules:
        if rule.holiday:
            continue  # public holidays are not part of the weekly pattern
        days = rule.days - rule.excluded
        if not days:
            if rule.times or rule.closed:
                return None  # hours for no day at all: not guessed
            continue
        if rule.closed and not rule.times:
            for d in days:
                table.pop(d, None)
                set_by[d] = len(days)
            continue
        if not rule.times:
            return None
        for d in days:
            if d in table and len(days) < set_by.get(d, 0):
                table[d] = []  # a refinement of a broader rule replaces it
            table.setdefault(d, []).extend(rule.times)
            set_by[d] = len(days) if d not in set_by else min(set_by[d], len(days))
    return table


def _merge(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((a, b) for a, b in merged)


def _hhmm(minutes: int) -> str:
    if minutes > 1440:
        minutes -= 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days_label(days: list[int]) -> str:
    runs: list[list[int]] = []
    for d in days:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAYS[run[0]]}-{DAYS[run[-1]]}")
        else:
            parts.extend(DAYS[d] for d in run)
    return ",".join(parts)


def format_hours(table: dict[int, tuple[tuple[int, int], ...]]) -> str:
    """The canonical OSM string of a day -> ranges table ("off" when nothing is open)."""
    open_days = {d: r for d, r in table.items() if r}
    if not open_days:
        return "off"
    if len(open_days) == 7 and all(r == ((0, 1440),) for r in open_days.values()):
        return "24/7"
    groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for d in sorted(open_days):
        groups.setdefault(open_days[d], []).append(d)
    parts = []
    for ranges, days in sorted(groups.items(), key=lambda item: item[1][0]):
        times = ",".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in ranges)
        parts.append(f"{_days_label(days)} {times}")
    return "; ".join(parts)


@lru_cache(maxsize=50_000)
def _normalize(text: str) -> str | None:
    tokens = _tokens(text)
    if not tokens:
        return None
    rules = _parse(tokens)
    if not rules:
        return None
    table = _apply(rules)
    if table is None:
        return None
    if not table and not any(r.closed for r in rules):
        return None
    return format_hours({d: _merge(r) for d, r in table.items()})


def normalize_hours(raw: str | list[str] | tuple[str, ...] | None) -> str | None:
    """The canonical OSM string of an opening-hours field, or None when it can't be read.

    A list (schema.org ``openingHours``) is read as its entries joined with "; ".
    """
    if raw is None:
        return None
    text = "; ".join(map(str, raw)) if isinstance(raw, list | tuple) else str(raw)
    text = text.strip()
    if not text:
        return None
    return _normalize(text)
