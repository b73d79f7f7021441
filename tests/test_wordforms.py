"""The word-start table the published search finds Russian and Ukrainian word forms with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archive.analysis import analyze
from archive.model import public_text
from archive.parse import load_archive
from archive.wordforms import MIN_START, chunk_name, chunks, pagefind_form, word_starts

SAMPLES = Path(__file__).resolve().parent.parent / "testimonies"
#: A Cyrillic word, not part of one with an apostrophe ("п'ять") or of a mixed-script one.
WORD = re.compile(r"(?<![\w'\u2019\u02bc])[\u0400-\u04ff]+(?![\w'\u2019\u02bc])")


def _testimony(language: str, body: str, status: str = "public", name: str = "t") -> str:
    return (
        f"---\nid: {name}\ntitle: Sample\nlanguage: {language}\nstatus: {status}\n"
        f"source: Written for the tests\n---\n\n{body}\n"
    )


def _starts(tmp_path: Path, *files: str) -> dict[str, str]:
    for n, text in enumerate(files):
        (tmp_path / f"t{n}.md").write_text(text.replace("id: t\n", f"id: t{n}\n"), "utf-8")
    archive = load_archive(tmp_path)
    assert not archive.errors
    return word_starts(archive.public())


def test_forms_of_a_russian_word_are_searched_by_the_beginning_they_share(tmp_path):
    starts = _starts(
        tmp_path,
        _testimony(
            "ru", "Все контракты продлили до окончания мобилизации, и срок контракта исчез."
        ),
        _testimony("ru", "Мой контракт продлили после объявления мобилизацию."),
    )
    for form in ("контракты", "контракта", "контракт"):
        assert starts[form] == "контракт"
    assert starts["мобилизации"] == starts["мобилизацию"] == "мобилизаци"
    # The stem is a key too: "мобилизация", used by no testimony, comes down to it.
    (stem,) = analyze("мобилизация", "ru")
    assert starts[stem] == "мобилизаци"


def test_a_ukrainian_lemma_finds_the_one_form_a_testimony_uses(tmp_path):
    starts = _starts(tmp_path, _testimony("uk", "Син пів року переховувався вдома."))
    (lemma,) = analyze("переховувався", "uk")
    assert lemma != "переховувався"
    assert starts["переховувався"] == "переховувався"
    assert starts[pagefind_form(lemma)] == "переховувався"
    # The beginning the lemma and the form share is a key for the other forms.
    assert starts["переховува"] == "переховувався"


def test_a_word_a_text_uses_finds_that_text_when_another_language_has_it_as_a_lemma(tmp_path):
    """ "мати" is a Russian text's word and the Ukrainian lemma of "мав": it must not search
    "мав" alone, which the Russian text does not hold."""
    starts = _starts(
        tmp_path,
        _testimony("ru", "Наша мати ждала."),
        _testimony("uk", "Він мав сина.", name="t"),
    )
    assert analyze("мав", "uk") == ["мати"]
    assert starts["мати"] == "мати" and starts["мав"] == "мав"


def test_a_cut_word_stays_in_the_file_of_its_first_two_letters():
    assert MIN_START >= 2  # the page cuts at most down to MIN_START letters


def test_a_beginning_too_short_to_mean_anything_is_not_used(tmp_path):
    starts = _starts(tmp_path, _testimony("uk", "Це був третій день. До кінця дня ми чекали."))
    assert starts["день"] == "день" and starts["дня"] == "дня"  # they share only "д"
    assert all(len(start) >= MIN_START or start == key for key, start in starts.items())


def test_keys_are_in_pagefinds_normalisation_and_other_words_search_as_typed(tmp_path):
    starts = _starts(
        tmp_path,
        _testimony("ru", "Ещё раз: мой рапорт, NATO, м'ясо и за\u0301мок."),
        _testimony("en", "An English line about the border."),
    )
    assert "еще" in starts and "ещё" not in starts
    assert "мои" in starts and "мой" not in starts  # й is и to Pagefind
    assert "замок" in starts
    assert not any("'" in key for key in starts)
    # Every other public word is a key, searched as typed (""): so the page tells a word no
    # public text holds from one Pagefind stems ("borders" is cut down to "border").
    assert {k for k in starts if re.search("[a-z]", k)} == {
        "an",
        "english",
        "line",
        "about",
        "the",
        "border",
        "nato",
    }
    assert all(starts[k] == "" for k in ("border", "nato"))
    assert pagefind_form("Ё\u00adЙ") == "еи"


def test_only_public_words_are_in_the_table(tmp_path):
    starts = _starts(
        tmp_path,
        _testimony("ru", "Нас держали под [Заречным]{.redact}, а потом отпустили."),
        _testimony("ru", "Секретнейший рассказ.", status="restricted", name="t"),
    )
    assert "держали" in starts
    assert not any(key.startswith(("заречн", "секретн")) for key in starts)


def test_the_samples_table_holds_their_public_words_and_no_other(tmp_path):
    archive = load_archive(SAMPLES)
    starts = word_starts(archive.public())
    public = " ".join(public_text(t) for t in archive.public())
    forms = {pagefind_form(w) for w in WORD.findall(public)}
    assert forms <= set(starts)
    for form in forms:  # a form finds itself, and its start is the form or shorter
        assert form.startswith(starts[form]), form
    for start in starts.values():  # a stem or lemma's start finds a public word too
        assert any(form.startswith(start) for form in forms), start
    # Words of redacted spans and of restricted or embargoed testimonies, unlike any public
    # word (a stem or lemma of a public word may spell one of them by chance).
    private = " ".join(p.text for t in archive.testimonies.values() for p in t.passages)
    hidden = {pagefind_form(w) for w in WORD.findall(private)}
    hidden = {w for w in hidden if not any(f.startswith(w[:4]) for f in forms)}
    assert len(hidden) > 20
    assert not hidden & (set(starts) | set(starts.values()))


def test_chunks_are_named_by_the_first_two_letters():
    assert chunk_name("мобилизаци") == "043c043e"
    assert chunk_name("я") == "044f"
    parts = chunks({"мир": "мир", "мобилизаци": "мобилизаци", "мои": "мои", "я": "я"})
    assert parts == {"043c0438": {"мир": "мир"}, "043c043e": {"мобилизаци": "мобилизаци",
                     "мои": "мои"}, "044f": {"я": "я"}}  # fmt: skip
    assert list(parts) == sorted(parts)


@pytest.mark.parametrize(("line", "expected"), [
    ("Only English here.", {}),
    ("He called it his дом, his home.", {"дом": "дом"}),  # a quoted word in an English text
])  # fmt: skip
def test_english_text_costs_nothing_but_its_cyrillic_words(tmp_path, line, expected):
    starts = _starts(tmp_path, _testimony("en", line))
    # English words are searched as typed (""): only Cyrillic ones get a beginning.
    assert {k: v for k, v in starts.items() if v} == expected
    assert "english" in starts or "home" in starts


def test_a_ukrainian_form_no_text_uses_reaches_the_form_it_uses(tmp_path):
    """The server lemmatises "відпустку" to "відпустка": the lexeme's shared beginning is a
    key, which the page's cut of a few last letters reaches."""
    from archive.wordforms import MAX_ENDING

    starts = _starts(tmp_path, _testimony("uk", "У нього хоча б є відпустка."))
    assert starts["відпустка"] == "відпустка"
    for typed in ("відпустку", "відпустки", "відпусткою"):
        assert analyze(typed, "uk") == analyze("відпустка", "uk")
        cuts = [typed[: len(typed) - n] for n in range(1, MAX_ENDING + 1)]
        assert any(starts.get(cut) == "відпустка" for cut in cuts), typed


def test_redacted_english_words_are_not_in_the_table_did_you_mean_reads(tmp_path):
    """The table is the "did you mean" vocabulary: a redacted word must never be a key."""
    starts = _starts(
        tmp_path,
        _testimony(
            "en",
            "We crossed near [Zelenovka]{.redact} at night.\n\nHidden Qzxpassage.\n{: .redact }",
        ),
    )
    assert "crossed" in starts and "night" in starts
    assert not any(k.startswith(("zelenovk", "qzx")) for k in starts)
