"""French analysis of the embedded index: the same at index and at query time."""

from __future__ import annotations

import threading

import pytest

from catalog.backends import french


@pytest.mark.parametrize("forms", [
    ("fromagerie", "Fromageries", "FROMAGERIE", "fromageries"),
    ("épicerie", "Epiceries", "EPICERIE", "l'épicerie", "L’Épicerie"),
    ("chaussure", "chaussures", "CHAUSSURES"),
    ("vélo", "velos", "Vélos"),
    ("pâtisserie", "patisseries"),
    ("crèmerie", "cremerie"),
])
def test_forms_of_a_word_give_one_term(forms: tuple[str, ...]) -> None:
    assert len({tuple(french.analyze(f)) for f in forms}) == 1, [french.analyze(f)
                                                                 for f in forms]


def test_elisions_and_punctuation() -> None:
    assert french.words("L'Épicerie d'Arnaud-Bernard, qu'il") == [
        "epicerie", "arnaud", "bernard", "il"]
    assert french.words("aujourd'hui") == ["aujourd", "hui"]
    assert french.analyze("") == [] and french.analyze(None) == []
    assert french.analyze("30 ml") == ["30", "ml"]


def test_query_terms_drop_stop_words_unless_alone() -> None:
    assert [t.word for t in french.query_terms("la fromagerie des carmes")] == [
        "fromagerie", "carmes"]
    assert [t.word for t in french.query_terms("les")] == ["les"]
    assert [t.word for t in french.query_terms("vin vins VIN")] == ["vin"]


def test_highlight_escapes_then_marks() -> None:
    assert french.highlight("Boulangerie <Le Fournil> & Fils", {"fournil"}) == (
        "Boulangerie &lt;Le <mark>Fournil</mark>&gt; &amp; Fils")
    assert french.highlight("L'Épicerie", {french.stem("epicerie")}) == (
        "L&#x27;<mark>Épicerie</mark>")
    assert french.highlight(None, {"a"}) == ""


def test_snippet_is_a_window_around_the_first_match() -> None:
    text = "Un texte assez long. " * 10 + "Le fromage affiné du Tarn. " + "Fin. " * 40
    out = french.snippet(text, {french.stem("fromage")})
    assert out is not None and "<mark>fromage</mark>" in out
    assert out.startswith("…") and out.endswith("…") and len(out) < 240
    assert french.snippet("rien", {"fromag"}) is None


def test_suggest_inputs() -> None:
    assert french.suggest_inputs("La Fromagerie des Carmes") == [
        "la fromagerie des carmes", "fromagerie des carmes", "carmes"]
    assert french.suggest_key("  L'Épi ") == "epi"


VOCAB = french.Vocabulary.from_rows(
    (w, french.stem(w), f) for w, f in [("fromagerie", 30), ("fromage", 12), ("cave", 9),
                                         ("chaussures", 5), ("andre", 2), ("andree", 1)])


@pytest.mark.parametrize("typed, meant", [
    ("fromagrie", "fromagerie"),    # a letter missing
    ("frommagerie", "fromagerie"),  # one too many
    ("fromagarie", "fromagerie"),   # one wrong
    ("fromaegrie", "fromagerie"),   # two swapped
    ("chausures", "chaussures"),
])
def test_one_edit_on_long_words(typed: str, meant: str) -> None:
    alternatives, suggestion = VOCAB.expand(french.Term(typed, french.stem(typed)))
    assert french.stem(meant) in alternatives and suggestion == meant


@pytest.mark.parametrize("typed, meant", [
    ("frmagrie", "fromagerie"),     # two letters missing: a long word takes two edits
    ("eipcerie", "epicerie"),       # a transposition is one edit (Damerau)
    ("fromaegire", "fromagerie"),   # two transpositions
])
def test_two_edits_on_words_of_eight_letters(typed: str, meant: str) -> None:
    vocab = french.Vocabulary.from_rows(
        (w, french.stem(w), 1) for w in ("fromagerie", "epicerie", "cave"))
    alternatives, suggestion = vocab.expand(french.Term(typed, french.stem(typed)))
    assert suggestion == meant and french.stem(meant) in alternatives


def test_short_words_and_too_many_edits_are_not_corrected() -> None:
    assert VOCAB.expand(french.Term("cafe", french.stem("cafe")))[1] is None
    assert VOCAB.expand(french.Term("cav", french.stem("cav")))[1] is None  # 3 letters
    assert VOCAB.expand(french.Term("chausre", french.stem("chausre")))[1] is None  # 7: one
    assert VOCAB.expand(french.Term("frmgerei", french.stem("frmgerei")))[1] is None  # three
    # a word the index holds is never "corrected"; the likeliest neighbour comes first
    assert VOCAB.expand(french.Term("andre", "andre"))[1] is None
    assert VOCAB.neighbours("andrea")[0] == ("andre", 2)


def test_one_edit_neighbours_hide_two_edit_ones() -> None:
    vocab = french.Vocabulary.from_rows(
        (w, french.stem(w), f) for w, f in [("boulangerie", 1), ("boulangeries", 50)])
    assert [w for w, _ in vocab.neighbours("boulangerei", 2)] == ["boulangerie"]


@pytest.mark.parametrize("typed, forms", [
    ("st", {"st", "saint"}), ("saint", {"saint", "st"}),
    ("av", {"av", "aven", "avn", "avenue"}), ("rte", {"rte", "route"}),
    ("imp", {"imp", "impasse"}), ("chem", {"chem", "chm", "chemin"}),
    ("car", {"car"}), ("lot", {"lot"}), ("psg", {"psg"}),  # words of their own
    ("gal", {"gal", "gen", "gl", "general"}),
    ("ets", {"ets", "etab", "etabs", "etablissements"}), ("pl", {"pl", "plc", "place"}),
    ("boulangerie", {"boulangerie"}),
])
def test_abbreviations_and_full_forms_meet(typed: str, forms: set[str]) -> None:
    assert french.query_terms(typed)[0].forms == {french.stem(w) for w in forms}


def test_threads_stem_at_once_as_one_would() -> None:
    # the web app's threads stem at once: each must get its own word's stem
    words = [f"{base}{suffix}" for base in ("boulang", "fromag", "chocolat", "librair",
                                            "épicer", "pâtisser", "caviste", "fleuris")
             for suffix in ("erie", "eries", "ement", "issements", "ations", "eur", "euses")]
    words = [french.fold(w) for w in words] * 40
    expected = [french.stem.__wrapped__(w) for w in words]
    results: dict[int, list[str]] = {}

    def work(n: int) -> None:
        results[n] = [french.stem.__wrapped__(w) for w in words]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[n] == expected for n in range(8))


def test_a_four_letter_word_unknown_is_a_five_letter_one_with_a_letter_dropped() -> None:
    vocab = french.Vocabulary.from_rows(
        (w, french.stem(w), 1) for w in ("rodez", "robin", "cave", "caves"))
    alternatives, suggestion = vocab.expand(french.Term("rodz", french.stem("rodz")))
    assert suggestion == "rodez" and french.stem("rodez") in alternatives
    # a known four-letter word stays exact; an unknown one is no substitution of a known
    assert vocab.expand(french.Term("cave", french.stem("cave"))) == ({french.stem("cave")},
                                                                       None)
    assert vocab.expand(french.Term("cafe", french.stem("cafe")))[1] is None


def test_a_legal_form_typed_with_a_name_is_not_required() -> None:
    assert [t.word for t in french.query_terms("fleurs martin sarl")] == ["fleurs", "martin"]
    assert [t.word for t in french.query_terms("sarl")] == ["sarl"]
    assert french.query_words("EURL Dupont") == ["dupont"]
