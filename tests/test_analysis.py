"""Index and query meet on the same terms, in every language, across restarts."""

from __future__ import annotations

import pickle
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index
from whoosh.analysis import Analyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import QueryParser

from archive.analysis import (
    LANGUAGES,
    TOKEN_PATTERN,
    analyze,
    analyzer_for,
    fold,
)

EN = {
    "leave": "The officer said he asked for leave three times before he escaped from the unit.",
    "hid": "I hid in my aunt's cellar for two weeks; they said I had deserted.",
    "medic": "The medic told us about self-inflicted wounds and self-injury among conscripts.",
    "furlough": "Furloughs were cancelled after the offensive, so nobody could escape the front.",
}
RU = {
    "leave": "Командир сказал, что её отпуск отменили, и тогда он дезертировал.",
    "hid": "Призывник прятался у тётки в подвале две недели. Всё равно нашли.",
    "after": "В отпуске он решил не возвращаться: дезертировать было проще.",
    "medic": "Медик рассказал о случаях дезертирства и самострелов.",
}
UK = {
    "leave": "Офіцер тричі просив відпустку, але йому відмовили.",
    "after": "У відпустці він вирішив не повертатися і дезертирував.",
    "hid": "Строковик переховувався в підвалі п’ять днів, пʼять ночей і п'ять ранків.",
    "medic": "Медикиня розповіла про самопоранення: хлопці стріляли собі в ногу.",
    "fled": "Вона втекла з частини, а він втік через тиждень.",
}

SENTENCES = {"en": EN, "ru": RU, "uk": UK}


def terms(text: str, language: str) -> set[str]:
    return set(analyze(text, language))


def term(word: str, language: str) -> str:
    (result,) = analyze(word, language)
    return result


# --- tokenizer ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("he **escaped** on _foot_", ["he", "escaped", "on", "foot"]),
        ("~~deleted~~ `code` *a*b", ["deleted", "code", "a", "b"]),
        ("п'ять п’ять пʼять don’t", ["п'ять", "п’ять", "пʼять", "don’t"]),
        ("‘quoted’ 'words' «слова»", ["quoted", "words", "слова"]),
        ("self-injury, 24.02.2022", ["self", "injury", "24", "02", "2022"]),
        ("за\u0301мок и\u0306 відпуст\u00adка", ["за\u0301мок", "и\u0306", "відпуст\u00adка"]),
        ("snake_case", ["snake", "case"]),
    ],
)
def test_token_pattern_yields_words_only(text: str, words: list[str]) -> None:
    assert TOKEN_PATTERN.findall(text) == words


def test_markdown_emphasis_does_not_change_terms() -> None:
    for language in LANGUAGES:
        assert analyze("**втік** *escaped* _бежал_", language) == analyze(
            "втік escaped бежал", language
        )


def test_hyphenated_words_are_found_by_their_parts() -> None:
    assert analyze("self-injury", "en") == analyze("self injury", "en")
    assert term("injury", "en") in terms(EN["medic"], "en")


# --- fold ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("ВІДПУСТКА Escaped", "відпустка escaped"),
        ("Её ВСЁ Ёлка", "ее все елка"),
        ("п'ять п’ять пʼять п‘ять п`ять", "п'ять п'ять п'ять п'ять п'ять"),
        ("Café naïve Łódź São Paulo Straße", "cafe naive lodz sao paulo strasse"),
        ("Йому її Їжак ЙОГО", "йому її їжак його"),
        ("за\u0301мок", "замок"),
        ("відпуст\u00adка", "відпустка"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_keeps_decomposed_yi_and_short_i() -> None:
    decomposed = unicodedata.normalize("NFD", "Йшли їжаки, її")
    assert decomposed != "Йшли їжаки, її"
    assert fold(decomposed) == "йшли їжаки, її"


def test_fold_repairs_latin_look_alikes_in_cyrillic_words() -> None:
    assert fold("вiдпустка") == "відпустка"  # Latin i
    assert fold("N\u0410TO") == "nato"  # Cyrillic А in a Latin word
    assert fold("\u0422\u0426K") == "тцк"  # Latin K in a Cyrillic word
    assert fold("NATO і ЗСУ") == "nato і зсу"  # separate words stay as written


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


# --- inflections meet, in each language ------------------------------------------------


@pytest.mark.parametrize(
    ("language", "query", "sentence"),
    [
        ("en", "escape", "leave"),
        ("en", "escaped", "furlough"),
        ("en", "desert", "hid"),
        ("en", "furlough", "furlough"),
        ("en", "wound", "medic"),
        ("en", "conscript", "medic"),
        ("en", "officers", "leave"),
        ("en", "aunt", "hid"),  # possessive "aunt's"
        ("ru", "дезертировать", "leave"),
        ("ru", "дезертировал", "after"),
        ("ru", "дезертирство", "medic"),
        ("ru", "отпуск", "leave"),
        ("ru", "отпуска", "after"),
        ("ru", "ее", "leave"),
        ("ru", "все", "hid"),
        ("ru", "тетка", "hid"),
        ("ru", "прятался", "hid"),
        ("uk", "відпустка", "leave"),
        ("uk", "відпустці", "leave"),
        ("uk", "відпустку", "after"),
        ("uk", "дезертирувати", "after"),
        ("uk", "втекти", "fled"),
        ("uk", "втік", "fled"),
        ("uk", "пʼять", "hid"),
        ("uk", "самопоранення", "medic"),
    ],
)
def test_inflected_queries_find_sentences(language: str, query: str, sentence: str) -> None:
    """A query word's term is among the sentence's terms: inflections and spellings meet."""
    assert term(query, language) in terms(SENTENCES[language][sentence], language)


# --- English --------------------------------------------------------------------------


def test_english_undoes_consonant_doubling() -> None:
    assert term("stopped", "en") == term("stop", "en")
    assert term("running", "en") == term("run", "en")


def test_english_keeps_contractions_whole() -> None:
    assert analyze("Don’t", "en") == analyze("don't", "en") == ["don't"]


# --- Russian -----------------------------------------------------------------------------


def test_russian_yo_and_ye_are_one_letter() -> None:
    assert analyze("её всё ещё", "ru") == analyze("ее все еще", "ru")


def test_russian_stemmer_leaves_latin_words_alone() -> None:
    assert analyze("NATO iPhone", "ru") == ["nato", "iphone"]


# --- Ukrainian ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forms", "lemma"),
    [
        (("відпустка", "відпустку", "відпустці", "відпусток", "Відпусткою"), "відпустка"),
        (("дезертирував", "дезертирувала", "дезертирують", "дезертирувати"), "дезертирувати"),
        (("втік", "втекла", "втекти"), "втекти"),
        (("переховувався", "переховувалася"), "переховуватися"),
        (("хлопці", "хлопців", "хлопцеві"), "хлопець"),
        (("його", "йому", "він"), "він"),
        (("вертоліт", "вертольоті"), "вертоліт"),
    ],
)
def test_ukrainian_forms_share_a_lemma(forms: tuple[str, ...], lemma: str) -> None:
    assert {term(form, "uk") for form in forms} == {lemma}


def test_ukrainian_apostrophe_variants_give_one_term() -> None:
    variants = ["п'ять", "п’ять", "пʼять", "п‘ять", "п`ять", "П’ЯТЬ"]
    assert {term(v, "uk") for v in variants} == {"п'ять"}
    assert analyze(UK["hid"], "uk").count("п'ять") == 3


def test_ukrainian_keeps_yi_and_short_i() -> None:
    assert analyze("Їжак війна", "uk") == ["їжак", "війна"]


def test_ukrainian_latin_i_typo_still_finds_the_word() -> None:
    assert term("вiдпустку", "uk") == "відпустка"


# --- any language ------------------------------------------------------------------------


def test_other_languages_are_folded_only() -> None:
    assert analyze("Müller ESCAPED Ærø", "de") == ["muller", "escaped", "aero"]


def test_region_subtags_use_the_base_language() -> None:
    assert analyze("відпустці", "uk-UA") == analyze("відпустці", "uk") == ["відпустка"]
    assert analyze("escaped", "EN_gb") == ["escap"]


def test_analyzer_is_a_whoosh_analyzer() -> None:
    for language in (*LANGUAGES, "xx"):
        assert isinstance(analyzer_for(language), Analyzer)


def test_no_morph_gives_folded_words_for_spelling() -> None:
    analyzer = analyzer_for("uk")
    words = [t.text for t in analyzer("Відпустці Вона", no_morph=True)]
    assert words == ["відпустці", "вона"]


@pytest.mark.parametrize(
    ("language", "fragment", "expected"),
    [("en", "Cancell", "cancel"), ("ru", "Отпуска", "отпуск"), ("uk", "Втек", "втек")],
)
def test_untokenized_fragments_stay_prefixes_of_the_terms(
    language: str, fragment: str, expected: str
) -> None:
    # How Whoosh's parser hands over prefix and wildcard text.
    (token,) = analyzer_for(language)(fragment, tokenize=False)
    assert token.text == expected


# --- offsets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "words"),
    [
        ("en", "**Self-injury** wasn’t rare, the médic said.", None),
        ("ru", "Её «отпуск» — всё, что он просил.", None),
        ("uk", "Він пʼять разів просив *відпустку*, а потім втік.", None),
        ("uk", "за\u0301мок і відпуст\u00adка", ["за\u0301мок", "і", "відпуст\u00adка"]),
        ("de", "Grüße aus Köln", None),
    ],
)
def test_offsets_point_into_the_original_text(
    language: str, text: str, words: list[str] | None
) -> None:
    tokens = [
        (t.text, t.pos, t.startchar, t.endchar, t.original)
        for t in analyzer_for(language)(text, positions=True, chars=True, keeporiginal=True)
    ]
    assert [pos for _, pos, _, _, _ in tokens] == list(range(len(tokens)))
    slices = [text[start:end] for _, _, start, end, _ in tokens]
    assert slices == [original for *_, original in tokens]
    assert slices == (words or TOKEN_PATTERN.findall(text))
    assert [text for text, *_ in tokens] == analyze(text, language)


def test_offsets_respect_start_char() -> None:
    (token,) = analyzer_for("uk")("втік", chars=True, start_char=10)
    assert (token.startchar, token.endchar) == (10, 14)


# --- pickling and a real index -------------------------------------------------------------


@pytest.mark.parametrize("language", [*LANGUAGES, "xx"])
def test_analyzers_pickle_without_heavy_state(language: str) -> None:
    analyzer = analyzer_for(language)
    analyze("прогрів", language)  # the pymorphy3 analyzer now exists in this process
    data = pickle.dumps(analyzer)
    assert b"pymorphy" not in data
    assert len(data) < 2000
    restored = pickle.loads(data)
    assert restored == analyzer
    text = UK["after"] + " " + EN["leave"]
    assert [t.text for t in restored(text)] == analyze(text, language)


def test_index_survives_reopening_and_finds_inflected_forms(tmp_path) -> None:
    schema = Schema(
        id=ID(stored=True, unique=True),
        en=TEXT(analyzer=analyzer_for("en"), stored=True, chars=True),
        ru=TEXT(analyzer=analyzer_for("ru"), stored=True, chars=True),
        uk=TEXT(analyzer=analyzer_for("uk"), stored=True, chars=True),
    )
    ix = index.create_in(str(tmp_path), schema)
    with ix.writer() as writer:
        for key in ("leave", "hid", "medic", "after", "fled", "furlough"):
            writer.add_document(id=key, en=EN.get(key, ""), ru=RU.get(key, ""), uk=UK.get(key, ""))
    ix.close()

    reopened = index.open_dir(str(tmp_path))
    assert reopened.schema["uk"].analyzer == analyzer_for("uk")

    def hits(field: str, query: str) -> set[str]:
        parser = QueryParser(field, reopened.schema)
        with reopened.searcher() as searcher:
            return {hit["id"] for hit in searcher.search(parser.parse(query), limit=None)}

    try:
        assert hits("en", "escape") == {"leave", "furlough"}
        assert hits("en", '"self injury"') == {"medic"}
        assert hits("en", "desert*") == {"hid"}
        assert hits("en", "escape*") == {"leave", "furlough"}
        assert hits("ru", "отпуска*") == {"leave", "after"}
        assert hits("uk", "втек*") == {"fled"}
        assert hits("ru", "отпуска") == {"leave", "after"}
        assert hits("ru", "ее") == {"leave"}
        assert hits("uk", "відпустка") == {"leave", "after"}
        assert hits("uk", "дезертирувала") == {"after"}
        assert hits("uk", "втекти") == {"fled"}
        assert hits("uk", "відпуст*") == {"leave", "after"}
        assert hits("uk", '"переховуватися в підвалі"') == {"hid"}

        parser = QueryParser("uk", reopened.schema)
        with reopened.searcher() as searcher:
            (hit,) = searcher.search(parser.parse("просити відпустка"))
            highlighted = hit.highlights("uk")
            assert ">просив</b>" in highlighted
            assert ">відпустку</b>" in highlighted
    finally:
        reopened.close()


# --- robustness ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=st.text(), language=st.sampled_from([*LANGUAGES, "xx"]))
def test_analyze_never_raises(text: str, language: str) -> None:
    result = analyze(text, language)
    assert all(isinstance(t, str) and t for t in result)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(
        st.characters(categories=["L", "Nd", "Mn", "Pd", "Po", "Zs", "Cf"])
        | st.sampled_from("'’ʼ`*_й ї ё́")
    ),
    language=st.sampled_from(LANGUAGES),
)
def test_token_offsets_always_slice_the_original(text: str, language: str) -> None:
    for t in analyzer_for(language)(text, chars=True, keeporiginal=True):
        assert text[t.startchar : t.endchar] == t.original
