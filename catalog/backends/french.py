"""French text analysis for the embedded index, the same at index and at query time.

Text is folded (accents and ligatures removed, lower case), elided articles are
dropped (``l'``, ``d'``, ``qu'``...), words are split on anything that is not a
letter or a digit, plurals are reduced and the Snowball French stemmer applied,
so that "fromagerie", "Fromageries" and "FROMAGERIE" give the same term. Query
words also lose French stop words (unless nothing else is left) and gain their
other written forms (``st`` and ``saint``, ``av`` and ``avenue``..., from the
normalizer's table, ``normalizer.abbreviations``); a word of five letters or more
that the index does not know is matched through the index's vocabulary at one
edit, two from eight letters (Damerau: a swap of two letters is one edit;
``Vocabulary.neighbours``). ``highlight`` marks the words of a display text whose
term matched, in HTML escaped first.

Example:
    >>> analyze("L'Épicerie des FROMAGERIES")
    ['epicer', 'de', 'fromager']
    >>> [t.stem for t in query_terms("la fromagerie")]
    ['fromager']
    >>> highlight("Fromagerie <b>André</b>", {"fromager", "andre"})
    '<mark>Fromagerie</mark> &lt;b&gt;<mark>André</mark>&lt;/b&gt;'
"""

from __future__ import annotations

import html
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

from normalizer.abbreviations import other_forms
from normalizer.names import LEGAL_FORM_WORDS
from normalizer.text import fold

# As Elasticsearch's fuzziness "AUTO:5,8": no edit below 5 letters, one below 8, two.
MIN_FUZZY_LENGTH = 5
MIN_TWO_EDITS_LENGTH = 8
NEIGHBOUR_CACHE = 4096

_ELISION = re.compile(r"\b(?:qu|jusqu|lorsqu|puisqu|quoiqu|[cdjlmnst])'(?=[a-z0-9])")
_TOKEN = re.compile(r"[a-z0-9]+")
# a display word, as shown: letters, digits and marks, with elided articles kept apart
_DISPLAY_WORD = re.compile(r"\w+", re.UNICODE)

STOP_WORDS = frozenset("""
a au aux avec ce ces chez dans de des du elle en et est il je la le les leur lui ma mais
me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta
te tes toi ton tu un une vos votre vous y l d c j m n s t
""".split())

# a Snowball stemmer holds the word it works on: one per thread (the web app's threads
# stem at once; sharing one mixed their words and raised IndexError under load)
_stemmers = threading.local()


def fold_lower(text: str) -> str:
    """Accents folded, lower case, elided articles removed: the form words are cut from."""
    return _ELISION.sub("", fold(text).lower())


def words(text: str) -> list[str]:
    """The folded words of ``text`` (elisions dropped), in order."""
    return list(_words(text))


@lru_cache(maxsize=100_000)
def _words(text: str) -> tuple[str, ...]:
    # documents repeat the same texts a lot (labels, communes, shop names): cached
    return tuple(_TOKEN.findall(fold_lower(text)))


def _singular(word: str) -> str:
    if len(word) > 3 and word[-1] in "sx" and not word.endswith(("ss", "us")):
        return word[:-1]
    return word


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The index term of one folded word: digits kept, plural reduced, Snowball French."""
    if not word.isalpha():
        return word
    stemmer = getattr(_stemmers, "french", None)
    if stemmer is None:
        stemmer = _stemmers.french = snowballstemmer.stemmer("french")
    return str(stemmer.stemWord(_singular(word)))


def analyze(text: str | None) -> list[str]:
    """Every term of ``text``, as indexed."""
    if not text:
        return []
    return list(_analyzed(text))


@lru_cache(maxsize=100_000)
def _analyzed(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in _words(text))


@dataclass(frozen=True)
class Term:
    """One query word: as typed (folded) and as indexed."""

    word: str
    stem: str

    @property
    def fuzzy(self) -> bool:
        return len(self.word) >= MIN_FUZZY_LENGTH and self.word.isalpha()

    @property
    def max_edits(self) -> int:
        return 0 if not self.fuzzy else 1 if len(self.word) < MIN_TWO_EDITS_LENGTH else 2

    @property
    def forms(self) -> set[str]:
        """Its term and the terms of its other written forms (abbreviation, full form)."""
        return {self.stem} | {stem(w) for w in other_forms(self.word)}


def query_words(text: str) -> list[str]:
    """The words a search looks for: a legal form ("sarl") is dropped unless nothing else
    is left, as shop names are shown without theirs and a shopper may add it."""
    all_words = words(text)
    return [w for w in all_words if w not in LEGAL_FORM_WORDS] or all_words


def query_terms(text: str) -> list[Term]:
    """The terms of a query, stop words dropped unless nothing else is left; no repeats."""
    all_words = query_words(text)
    kept = [w for w in all_words if w not in STOP_WORDS] or all_words
    seen: set[str] = set()
    terms = []
    for w in kept:
        s = stem(w)
        if s not in seen:
            seen.add(s)
            terms.append(Term(w, s))
    return terms


def suggest_key(text: str) -> str:
    """The form a completion is matched on: folded, elisions dropped, single spaces."""
    return " ".join(words(text))


def suggest_inputs(text: str, limit: int = 6) -> list[str]:
    """Keys a name completes from: the whole name, then from each later significant word.

    >>> suggest_inputs("L'Épicerie des Carmes")
    ['epicerie des carmes', 'carmes']
    """
    ws = words(text)
    out = []
    for i, w in enumerate(ws):
        if i > 0 and (w in STOP_WORDS or len(w) < 2):
            continue
        key = " ".join(ws[i:])
        if key and key not in out:
            out.append(key)
        if len(out) >= limit:
            break
    return out


@lru_cache(maxsize=20_000)
def _spans(text: str) -> tuple[tuple[int, int, str], ...]:
    """Each display word of ``text``: where it is, and its term (its last folded word's).
    Cached: result pages show the same names again and again."""
    out = []
    for m in _DISPLAY_WORD.finditer(text):
        terms = _words(m.group())
        if terms:
            out.append((m.start(), m.end(), stem(terms[-1])))
    return tuple(out)


@lru_cache(maxsize=20_000)
def _terms(text: str) -> frozenset[str]:
    """The terms of ``text``'s display words (cached: most texts of a page match nothing)."""
    return frozenset(term for _, _, term in _spans(text))


@lru_cache(maxsize=20_000)
def _escaped(text: str) -> str:
    return html.escape(text)


def highlight(text: str | None, stems: set[str] | frozenset[str]) -> str:
    """``text`` HTML-escaped, with ``<mark>`` around each word whose term is in ``stems``."""
    if not text:
        return ""
    matched = _terms(text).intersection(stems)
    return _marked(text, matched) if matched else _escaped(text)


@lru_cache(maxsize=20_000)
def _marked(text: str, matched: frozenset[str]) -> str:
    # cached by the terms marked: the same names come back on the pages of the same words
    out = []
    last = 0
    for start, end, term in _spans(text):
        if term in matched:
            out.append(html.escape(text[last:start]))
            out.append("<mark>" + html.escape(text[start:end]) + "</mark>")
            last = end
    out.append(html.escape(text[last:]))
    return "".join(out)


def snippet(text: str | None, stems: set[str] | frozenset[str], size: int = 160) -> str | None:
    """A window of ``text`` around its first matching word, highlighted; None without one."""
    if not text:
        return None
    matched = _terms(text).intersection(stems)
    return _snippet(text, matched, size) if matched else None


@lru_cache(maxsize=20_000)
def _snippet(text: str, matched: frozenset[str], size: int) -> str | None:
    for m_start, m_end, term in _spans(text):
        if term in matched:
            start = max(0, m_start - size // 3)
            if start:
                space = text.find(" ", start)
                start = space + 1 if 0 <= space < m_start else start
            end = min(len(text), start + size)
            if end < len(text):
                space = text.rfind(" ", m_end, end)
                end = space if space > 0 else end
            body = highlight(text[start:end], matched)
            return ("…" if start else "") + body + ("…" if end < len(text) else "")
    return None


@dataclass
class Vocabulary:
    """The words an index holds (folded surface form -> term, documents holding it)."""

    words: dict[str, tuple[str, int]] = field(default_factory=dict)
    stems: dict[str, int] = field(default_factory=dict)
    _by_length: dict[int, list[str]] = field(default_factory=dict, repr=False)
    _cache: dict[tuple[str, int], list[tuple[str, int]]] = field(default_factory=dict,
                                                                  repr=False)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, int]]) -> Vocabulary:
        vocab = cls()
        by_length: dict[int, list[str]] = defaultdict(list)
        for word, term, freq in rows:
            vocab.words[word] = (term, int(freq))
            vocab.stems[term] = vocab.stems.get(term, 0) + int(freq)
            by_length[len(word)].append(word)
        vocab._by_length = dict(by_length)
        return vocab

    def knows(self, term: Term) -> bool:
        """Whether the index holds the term, or one of its other written forms."""
        return any(s in self.stems for s in term.forms)

    def neighbours(self, word: str, max_edits: int = 1) -> list[tuple[str, int]]:
        """Indexed words at the fewest edits of ``word`` (one, else up to ``max_edits``; a
        transposition is one), most frequent first."""
        key = (word, max_edits)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        n = len(word)
        choices = [w for k in range(n - max_edits, n + max_edits + 1)
                   for w in self._by_length.get(k, ())]
        found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=max_edits,
                                limit=None) if choices else []
        near = [(w, int(dist)) for w, dist, _ in found if w != word and dist <= max_edits]
        fewest = min((d for _, d in near), default=0)
        out = sorted(((w, self.words[w][1]) for w, d in near if d == fewest),
                     key=lambda wf: (-wf[1], wf[0]))
        if len(self._cache) >= NEIGHBOUR_CACHE:
            self._cache.clear()
        self._cache[key] = out
        return out

    def expand(self, term: Term) -> tuple[set[str], str | None]:
        """The terms to look for ``term`` under, and the likeliest word meant when unknown."""
        alternatives = term.forms
        if not term.fuzzy:
            # a four-letter word the index does not hold may be a five-letter one with a
            # letter dropped ("robi", "rodz"): that one only, not any word one letter
            # apart ("cafe" is no "cave"); a known word stays exact
            if len(term.word) == MIN_FUZZY_LENGTH - 1 and term.word.isalpha() \
                    and not self.knows(term):
                near = [(w, d) for w, d in self.neighbours(term.word, 1)
                        if len(w) == MIN_FUZZY_LENGTH]
                alternatives.update(self.words[w][0] for w, _ in near)
                return alternatives, (near[0][0] if near else None)
            return alternatives, None
        near = self.neighbours(term.word, term.max_edits)
        alternatives.update(self.words[w][0] for w, _ in near)
        # as Elasticsearch's term suggester: a word the index does not hold as written
        return alternatives, (near[0][0] if near and not self.knows(term) else None)


def count_words(texts: Iterable[str | None]) -> Iterator[str]:
    """Each distinct folded word of one document's texts (for document frequencies)."""
    seen: set[str] = set()
    for text in texts:
        if text:
            seen.update(_words(text))
    return iter(seen)


def document_highlights(doc: dict[str, Any], stems: set[str]) -> dict[str, str]:
    """A hit's marked name, its shop's name when a term is in it, and its snippet."""
    out = {"name": highlight(doc.get("name"), stems)}
    if doc.get("shop_name") and "<mark>" in (shop := highlight(doc["shop_name"], stems)):
        out["shop_name"] = shop
    described = snippet(doc.get("description"), stems)
    if described:
        out["description"] = described
    return out
