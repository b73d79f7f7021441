"""Themes vocabulary validation, keyword suggestions, and --write that touches nothing else."""

from __future__ import annotations

import difflib
import json
import re

import pytest
from click.testing import CliRunner

from archive import ArchiveError, ValidationErrors, load_archive, parse_file
from archive.cli import main
from archive.model import PartialDate, decade_of
from archive.themes import load_vocabulary, parse_vocabulary, suggest, write_suggestions

VOCAB = """themes:
  - slug: leaving-service
    labels: {en: "Leaving service"}
  - slug: furlough
    labels: {en: "Furlough", ru: "Отпуск"}
    broader: leaving-service
    keywords:
      en: ["furlough*", "sent on leave"]
      ru: ["отпуск*"]
  - slug: hiding
    labels: {en: "Hiding"}
    broader: leaving-service
    keywords:
      en: ["hid*", "in the cellar", "self-injur*"]
      uk: ["ховав*"]
"""


def test_vocabulary_tree_and_labels():
    v = parse_vocabulary(VOCAB, "themes.yaml")
    assert set(v.themes) == {"leaving-service", "furlough", "hiding"}
    assert [t.slug for t in v.narrower("leaving-service")] == ["furlough", "hiding"]
    assert [t.slug for t in v.ancestors("furlough")] == ["leaving-service"]
    assert v.themes["furlough"].label("ru") == "Отпуск"
    assert v.themes["hiding"].label("uk") == "Hiding"  # falls back to English


def test_with_broader_lists_each_theme_then_its_broader_ones_once():
    v = parse_vocabulary(VOCAB, "themes.yaml")
    assert v.with_broader(["hiding", "furlough"]) == ["hiding", "furlough", "leaving-service"]
    assert v.with_broader(["leaving-service", "furlough"]) == ["leaving-service", "furlough"]
    assert v.with_broader(iter(["furlough"])) == ["furlough", "leaving-service"]
    assert v.with_broader([]) == []


@pytest.mark.parametrize(
    ("year", "decade"), [(1937, "1930s"), (1930, "1930s"), (1939, "1930s"), (2000, "2000s")]
)
def test_decade_of(year, decade):
    assert decade_of(year) == decade
    assert PartialDate(year, 5).decade == decade


@pytest.mark.parametrize(
    ("edit", "pattern", "line"),
    [
        (("broader: leaving-service\n    keywords:\n      en: [\"hid*\"", "broader: nowhere\n    keywords:\n      en: [\"hid*\""), "broader theme 'nowhere'", 10),
        (("slug: hiding", "slug: furlough"), "duplicate theme 'furlough'", 10),
        (("slug: hiding", "slug: Hiding Away"), "not a lowercase slug", 10),
        (('"sent on leave"', '"sent.*leave"'), "not a word or phrase", 4),
        (('"furlough*"', '"*lough"'), "not a word or phrase", 4),
        (('labels: {en: "Hiding"}', 'labels: {ru: "Прятки"}'), "needs labels with at least 'en'", 10),
        (("  - slug: leaving-service\n    labels:", "  - slug: leaving-service\n    broader: hiding\n    labels:"), "form a cycle", 2),
    ],
)  # fmt: skip
def test_vocabulary_errors(edit, pattern, line):
    text = VOCAB.replace(*edit)
    with pytest.raises(ValidationErrors) as info:
        parse_vocabulary(text, "themes.yaml")
    found = [e for e in info.value.errors if pattern in e.message]
    assert found, [str(e) for e in info.value.errors]
    assert found[0].line == line and str(found[0]).startswith(f"themes.yaml:{line}:")


def test_vocabulary_refuses_aliases():
    with pytest.raises(ValidationErrors, match="anchor"):
        parse_vocabulary("themes:\n  - &x {slug: a, labels: {en: A}}\n  - *x\n", "themes.yaml")


def test_directory_without_vocabulary_uses_the_default(tmp_path):
    default = load_vocabulary(tmp_path)
    assert default.path is None
    for slug in ("desertion", "furlough", "self-injury", "escape-abroad", "family-separation"):
        assert slug in default, slug
    (tmp_path / "themes.yaml").write_text(VOCAB, encoding="utf-8")
    assert set(load_vocabulary(tmp_path).themes) == {"leaving-service", "furlough", "hiding"}


def test_default_vocabulary_covers_every_language():
    for theme in load_vocabulary(None).themes.values():
        assert {"en", "ru", "uk"} <= set(theme.labels), theme.slug


def _archive(tmp_path, body: str, language: str = "en"):
    (tmp_path / "themes.yaml").write_text(VOCAB, encoding="utf-8")
    path = tmp_path / "t1.md"
    path.write_text(
        f'---\nid: t1\ntitle: "T"\nlanguage: {language}\n---\n\n{body}', encoding="utf-8"
    )
    return load_archive(tmp_path), path


def test_suggestions_only_for_untagged_passages_with_matched_words(tmp_path):
    body = (
        "**A:** They SENT me on leave, then I hid in the cellar.\n\n"
        '**A:** My furloughs were cancelled.\n{: themes="hiding" }\n\n'
        "**A:** Nothing relevant here.\n"
    )
    archive, _ = _archive(tmp_path, body)
    found = suggest(archive.testimonies["t1"], archive.vocabulary)
    archive, _ = _archive(tmp_path, "Nobody spoke of self-injuries there.\n")
    [s] = suggest(archive.testimonies["t1"], archive.vocabulary)
    assert s.words == ("self-injuries",)
    archive, _ = _archive(tmp_path, body)
    found = suggest(archive.testimonies["t1"], archive.vocabulary)
    # "SENT me on leave" is not the phrase "sent on leave"; the tagged passage is skipped.
    assert {(s.theme, s.words) for s in found} == {("hiding", ("hid", "in the cellar"))}
    assert all(s.passage == archive.testimonies["t1"].passages[0].id for s in found)


def test_keyword_phrases_and_stems_fold_case_and_yo(tmp_path):
    archive, _ = _archive(tmp_path, "В ОТПУСКЕ я не был с весны.\n", language="ru")
    [s] = suggest(archive.testimonies["t1"], archive.vocabulary)
    assert (s.theme, s.words) == ("furlough", ("ОТПУСКЕ",))
    archive, _ = _archive(tmp_path, "I was sent on leave in May.\n")
    [s] = suggest(archive.testimonies["t1"], archive.vocabulary)
    assert (s.theme, s.words) == ("furlough", ("sent on leave",))
    archive, _ = _archive(tmp_path, "Він переховувався, ховався в підвалі.\n", language="uk")
    [s] = suggest(archive.testimonies["t1"], archive.vocabulary)
    assert (s.theme, s.words) == ("hiding", ("ховався",))


def test_write_adds_attr_lines_and_leaves_every_other_byte(tmp_path):
    body = (
        "**A:** I hid in the cellar.\n\n"
        "**A:** Then I was sent on leave.\n{: #leave }\n\n"
        "- I hid again\n- nothing here\n\n"
        "> They were sent on leave too.\n\n"
        "Untouched paragraph.\n"
    )
    archive, path = _archive(tmp_path, body)
    before = path.read_bytes()
    t = archive.testimonies["t1"]
    suggestions = suggest(t, archive.vocabulary)
    assert write_suggestions(t, suggestions) == 4
    after = path.read_bytes()
    old, new = before.split(b"\n"), after.split(b"\n")
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    for tag, i1, i2, j1, j2 in changes:
        added = new[j1:j2]
        pattern = rb'(\s*|> )\{: (#leave )?themes="[a-z -]+" \}'
        assert all(re.fullmatch(pattern, line) for line in added)
        if tag == "replace":
            assert old[i1:i2] == [b"{: #leave }"] and added == [b'{: #leave themes="furlough" }']
        else:
            assert tag == "insert"
    assert len(changes) == 4
    again = parse_file(path, archive.vocabulary)
    tagged = {p.public_text: p.themes for p in again.passages}
    assert tagged["A: I hid in the cellar."] == ("hiding",)
    assert tagged["A: Then I was sent on leave."] == ("furlough",)
    assert tagged["I hid again"] == ("hiding",)
    assert tagged["They were sent on leave too."] == ("furlough",)
    assert tagged["Untouched paragraph."] == ()
    assert again.passage("leave") is not None  # the explicit id kept
    assert [p.id for p in again.passages] == [p.id for p in t.passages]  # ids stable
    assert suggest(again, archive.vocabulary) == []


def test_cli_validate_stats_and_suggest(tmp_path):
    _, path = _archive(tmp_path, "I hid in the cellar.\n")
    runner = CliRunner()
    result = runner.invoke(main, ["--testimonies", str(tmp_path), "validate", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"checked": 1, "valid": 1, "errors": [], "warnings": []}
    result = runner.invoke(main, ["--testimonies", str(tmp_path), "stats", "--json"])
    data = json.loads(result.output)
    assert data["testimonies"] == 1 and data["by_language"] == {"en": 1} and data["words"] == 5
    result = runner.invoke(main, ["--testimonies", str(tmp_path), "themes", "suggest"])
    assert f"{path}:7: #" in result.output and "hiding (hid, in the cellar)" in result.output
    result = runner.invoke(main, ["--testimonies", str(tmp_path), "themes", "suggest", "nope"])
    assert result.exit_code != 0 and "no such testimony: nope" in result.output


def test_cli_validate_reports_file_and_line_and_exits_1(tmp_path):
    _, path = _archive(tmp_path, 'Text.\n{: themes="nope" }\n')
    result = CliRunner().invoke(main, ["--testimonies", str(tmp_path), "validate"])
    assert result.exit_code == 1
    assert f"{path}:8: unknown theme 'nope'" in result.output
    assert "Traceback" not in result.output


def test_bundled_samples_validate(samples_dir):
    archive = load_archive(samples_dir)
    assert archive.errors == []
    languages = {t.language for t in archive.testimonies.values()}
    assert {"en", "ru", "uk"} <= languages
    statuses = {t.status for t in archive.testimonies.values()}
    assert {"public", "restricted", "embargoed"} <= statuses
    assert any(t.translation_of for t in archive.testimonies.values())
    marks = ("sample", "образец", "зразок")  # each sample says so in its own language
    assert all(
        any(m in (t.source or "").lower() for m in marks) for t in archive.testimonies.values()
    )


def test_whole_corpus_vocabulary_suggests_on_real_text(small_corpus_dir):
    archive = load_archive(small_corpus_dir)
    assert archive.errors == []
    found = [s for t in archive.testimonies.values() for s in suggest(t, archive.vocabulary)]
    themes = {s.theme for s in found}
    assert {"punishment", "religion", "freedom"} <= themes, themes


def test_write_into_a_block_quote_keeps_it_valid(tmp_path):
    body = "> They were sent on leave.\n> {: #bq }\n\nBetween.\n\n> I hid in the cellar.\n"
    archive, path = _archive(tmp_path, body)
    t = archive.testimonies["t1"]
    assert write_suggestions(t, suggest(t, archive.vocabulary)) == 2
    again = parse_file(path, archive.vocabulary)
    assert [p.themes for p in again.passages] == [("furlough",), (), ("hiding",)]
    assert again.passage("bq") is not None


def test_write_refuses_a_file_changed_since_it_was_read(tmp_path):
    archive, path = _archive(tmp_path, "I hid in the cellar.\n")
    t = archive.testimonies["t1"]
    path.write_text(path.read_text() + "\nA new paragraph.\n")
    changed = path.read_bytes()
    with pytest.raises(ArchiveError, match="changed since it was read"):
        write_suggestions(t, suggest(t, archive.vocabulary))
    assert path.read_bytes() == changed
