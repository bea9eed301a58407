"""How an embedded engine looks for a text: the same plan for every embedded engine.

A query's words (``french.query_terms``) become groups of index terms: a word's
own term and those of its other written forms (``st``/``saint``), and, when the
index does not know the word, the terms of its nearest indexed words (one edit,
two for long words). The plan tries all the groups first, then any of them.

When a word is unknown and has a nearest word, the plan searches the corrected
text (``Plan.corrected``): the typed words as typed cannot all match, so their
results would be fewer or weaker than those of the words the shopper meant; the
page shows the corrected results and offers the text as typed back (a query with
``as_typed``, planned with the words exactly as typed, no correction).

Example:
    >>> vocab = french.Vocabulary.from_rows([("fromagerie", "fromager", 3),
    ...                                      ("saint", "saint", 1)])
    >>> plan = plan_query("fromagrie st", vocab)
    >>> plan.suggestion, plan.corrected, [op for _, op in plan.attempts]
    ('fromagerie st', True, ['AND', 'OR'])
    >>> sorted(plan.attempts[0][0][1])
    ['saint', 'st']
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.backends import french


@dataclass
class Plan:
    """Attempts in order (term groups, and "AND" or "OR"), and what the shopper meant."""

    attempts: list[tuple[list[set[str]], str]]
    suggestion: str | None  # "vouliez-vous dire"
    corrected: bool = False  # the attempts look for the suggestion, not the text as typed


def plan_query(text: str, vocab: french.Vocabulary, *, as_typed: bool = False) -> Plan | None:
    """How to look for ``text``; None when it holds no word but stop words."""
    terms = french.query_terms(text)
    if not terms or all(t.word in french.STOP_WORDS for t in terms):
        return None  # as Elasticsearch's analyzer: stop words alone search nothing
    strict: list[set[str]] = []
    loose: list[set[str]] = []
    corrections: dict[str, str] = {}
    for term in terms:
        if as_typed:
            strict.append(term.forms)
            loose.append(term.forms)
            continue
        expanded, meant = vocab.expand(term)
        strict.append(term.forms if vocab.knows(term) else expanded)
        loose.append(expanded)
        if meant:
            corrections[term.word] = meant
    attempts = [(strict, "AND")]
    if len(terms) > 1 or loose != strict:
        attempts.append((loose, "OR"))
    suggestion = None
    if corrections:
        suggestion = " ".join(corrections.get(w, w) for w in french.words(text))
    return Plan(attempts, suggestion, corrected=bool(corrections))
