"""The file format contract: front matter, passages, redactions, ids, errors with file:line."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive import ValidationErrors, load_archive, parse_file, public_text
from archive.model import REDACTED_MARKER
from archive.parse import MAX_FILE_BYTES, parse_text

BODY = """**Q:** When did you decide to leave?
{: #decision themes="furlough" }

**A:** After my leave was refused a second time. My commander at [the 155th brigade]{.redact} said
nobody goes home.

I still think of the name of the village.
{: .redact }

- I asked for a medical commission.
  {: #commission }
- I thought about the border.

> The order said no leave until spring.
> Nobody signed it.
{: #order themes="legal-routes" }
"""


def _errors(path) -> list:
    with pytest.raises(ValidationErrors) as info:
        parse_file(path)
    return info.value.errors


def _one_error(path, pattern: str, line: int | None):
    errors = _errors(path)
    matching = [e for e in errors if re.search(pattern, e.message)]
    assert matching, f"no error matching {pattern!r} in {[str(e) for e in errors]}"
    assert matching[0].line == line, str(matching[0])
    assert str(matching[0]).startswith(f"{path}:{line}:" if line else f"{path}:")
    return matching[0]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_content(fragment: str) -> str:
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


# --- a valid file ------------------------------------------------------------


def test_passages_kinds_ids_themes_lines(write_testimony):
    path = write_testimony("officer", BODY, themes="[furlough]", date="2023-10-04")
    t = parse_file(path)
    assert t.id == "officer" and t.themes == ("furlough",) and str(t.date) == "2023-10-04"
    kinds = [(p.kind, p.id if p.explicit_id else None) for p in t.passages]
    assert kinds == [
        ("p", "decision"),
        ("p", None),
        ("p", None),
        ("li", "commission"),
        ("li", None),
        ("blockquote", "order"),
    ]
    decision, answer, secret, commission, border, order = t.passages
    assert decision.speaker == "Q" and answer.speaker == "A"
    assert decision.themes == ("furlough",) and order.themes == ("legal-routes",)
    # Lines count in the whole file: 7 front matter lines, then a blank line.
    assert (decision.line, decision.attr_line) == (9, 10)
    assert (answer.line, answer.end_line) == (12, 13)
    assert commission.line == 18 and commission.attr_line == 19 and commission.indent == "  "
    assert order.line == 22 and order.attr_line == 24
    assert order.public_text == "The order said no leave until spring.\nNobody signed it."


def test_redaction_inline_and_whole_passage(write_testimony):
    t = parse_file(write_testimony("officer", BODY))
    answer, secret = t.passages[1], t.passages[2]
    assert "the 155th brigade" in answer.text
    assert "155th" not in answer.public_text and REDACTED_MARKER in answer.public_text
    assert answer.redactions == ("the 155th brigade",)
    assert secret.redacted and secret.public_text == REDACTED_MARKER
    assert "village" not in secret.html and "village" in secret.text
    whole = public_text(t)
    assert "155th" not in whole and "village" not in whole
    assert whole.count(REDACTED_MARKER) == 2


def test_public_html_text_content_equals_public_text(write_testimony):
    body = BODY + "\nAT&T &amp; &lt;b&gt; <script>alert(1)</script> *em* \\*star\\*\n"
    t = parse_file(write_testimony("officer", body))
    for p in t.passages:
        assert text_content(p.html) == p.public_text


def test_raw_html_is_text_never_markup(write_testimony):
    body = "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))\n"
    t = parse_file(write_testimony("xss", body))
    html = "".join(p.html for p in t.passages)
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert "&lt;script&gt;" in html
    assert t.passages[0].public_text == "<script>alert(1)</script>"


def test_partial_dates_and_embargo(write_testimony):
    t = parse_file(write_testimony("a", date='"1937-05"', status="embargoed",
                                   publish_after='"2027"'))  # fmt: skip
    assert str(t.date) == "1937-05" and t.date.decade == "1930s"
    assert not t.is_public(dt.date(2027, 12, 31))
    assert t.is_public(dt.date(2028, 1, 1))
    restricted = parse_file(write_testimony("b", status="restricted"))
    assert not restricted.is_public(dt.date(2999, 1, 1))
    year = parse_file(write_testimony("c", date="1937"))
    assert str(year.date) == "1937"


def test_duplicate_texts_get_distinct_stable_ids(write_testimony):
    t = parse_file(write_testimony("a", "**Q:** Yes.\n\n**A:** No.\n\n**Q:** Yes.\n"))
    ids = [p.id for p in t.passages]
    assert len(set(ids)) == 3 and ids[2] == ids[0] + "-2"


def test_crlf_and_bom_are_accepted(write_testimony):
    path = write_testimony("a", "**Q:** One.\n\n**A:** Two.\n")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert [p.public_text for p in parse_file(path).passages] == ["Q: One.", "A: Two."]


# --- every validation error, with its file:line ------------------------------


@pytest.mark.parametrize(
    ("front", "pattern", "line"),
    [
        ({"colour": "red"}, r"unknown key 'colour'", 5),
        ({"title": None}, r"'title' is required", 1),
        ({"title": "[a, b]"}, r"title must be text", 3),
        ({"language": "English"}, r"not a BCP 47 tag", 5),
        ({"status": "secret"}, r"status 'secret' is not one of", 5),
        ({"status": "embargoed"}, r"needs publish_after", 5),
        ({"date": '"1937-13"'}, r"not an ISO date", 5),
        ({"date": "yesterday"}, r"not an ISO date", 5),
        ({"publish_after": "2999-01-01"}, r"in the future but status is public", 5),
        ({"themes": "[furlough, dancing]"}, r"unknown theme 'dancing'", 5),
        ({"themes": "furlough"}, r"themes must be a list", 5),
        ({"translation_of": "missing-original"}, r"not in the archive", 5),
        ({"status": None}, r"'status' is required", 1),
    ],
)
def test_front_matter_errors(write_testimony, front, pattern, line):
    path = write_testimony("t1", **front)
    if "translation_of" in front:
        archive = load_archive(path.parent)
        [error] = [e for e in archive.errors if re.search(pattern, e.message)]
        assert (error.path, error.line) == (str(path), line)
        return
    _one_error(path, pattern, line)


def test_id_must_match_file_and_be_a_slug(write_testimony):
    path = write_testimony("t1")
    path.write_text(path.read_text().replace("id: t1", "id: Other Name"))
    _one_error(path, r"not a lowercase slug", 2)
    path.write_text(path.read_text().replace("id: Other Name", "id: other"))
    error = _one_error(path, r"does not match the file name", 2)
    assert error.hint


def test_missing_or_unclosed_front_matter(write_testimony):
    path = write_testimony("t1")
    path.write_text("no front matter\n")
    _one_error(path, r"must start with a '---'", 1)
    path.write_text("---\nid: t1\ntitle: x\n")
    _one_error(path, r"never closed", 1)


@pytest.mark.parametrize(
    ("yaml_text", "pattern", "line"),
    [
        ("id: t1\ntitle: &a x\nnarrator: *a", r"anchor '&a' is not allowed", 3),
        ("id: t1\ntitle: x\nnarrator: *a", r"alias|invalid YAML", 4),
        ("id: t1\ntitle: !!python/object:os.system x", r"tag .* is not allowed", 3),
        ("id: t1\ntitle: [unclosed", r"invalid YAML", 3),
        ("- a list\n- not a mapping", r"expected a mapping", 2),
    ],
)
def test_unsafe_or_broken_yaml(write_testimony, yaml_text, pattern, line):
    path = write_testimony("t1")
    path.write_text(f"---\n{yaml_text}\n---\n\nBody.\n")
    _one_error(path, pattern, line)


def test_alias_bomb_is_refused_quickly(write_testimony):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        lines.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{', '.join([f'*{prev}'] * 9)}]")
    path = write_testimony("t1")
    path.write_text("---\nid: t1\ntitle: x\n" + "\n".join(lines) + "\n---\n\nBody.\n")
    _one_error(path, r"anchor '&a' is not allowed", 4)


@pytest.mark.parametrize(
    ("body", "pattern", "line"),
    [
        ("First.\n{: #same }\n\nSecond.\n{: #same }\n", r"duplicate passage id 'same'", 11),
        ('First.\n{: themes="dancing" }\n', r"unknown theme 'dancing'", 8),
        ("First.\n{: #Bad_Id }\n", r"not a lowercase slug", 8),
        ('First.\n{: onclick="alert(1)" }\n', r"attribute 'onclick' is not allowed", 8),
        ("First.\n{: .shiny }\n", r"class '.shiny' is not allowed", 8),
        ('Link [x](http://a.example){: onmouseover="x" }\n', r"onmouseover.*not allowed", 7),
        ("", r"no passages", 6),
        ("First.\n{: #one }\n{: .redact }\n", r"'\{: #one \}' was not applied", 8),
    ],
)
def test_body_errors(write_testimony, body, pattern, line):
    _one_error(write_testimony("t1", body), pattern, line)


def test_file_level_errors(write_testimony):
    path = write_testimony("t1")
    path.write_bytes(b"---\nid: t1\ntitle: x\n---\n\nCaf\xe9\n")
    _one_error(path, r"not valid UTF-8", 6)
    path.write_bytes(b"---\nid: t1\n\x00\n")
    _one_error(path, r"NUL byte", 3)
    path.write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    _one_error(path, r"over the .*-byte limit", None)


def test_one_bad_file_never_hides_another(write_testimony):
    write_testimony("good")
    write_testimony("bad1", colour="red")
    write_testimony("bad2", 'Text.\n{: themes="nope" }\n')
    archive = load_archive(write_testimony.directory)
    assert list(archive.testimonies) == ["good"]
    assert sorted({e.path.rsplit("/", 1)[-1] for e in archive.errors}) == ["bad1.md", "bad2.md"]


def test_several_errors_in_one_file_are_all_reported(write_testimony):
    path = write_testimony("t1", 'A.\n{: onclick="x" }\n', colour="red", language="English")
    messages = " | ".join(e.message for e in _errors(path))
    assert "colour" in messages and "BCP 47" in messages and "onclick" in messages


# --- properties --------------------------------------------------------------

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzабвгдеёжзїієґ", min_size=1, max_size=8)
SENTENCE = st.lists(WORD, min_size=1, max_size=8).map(" ".join)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=SENTENCE,
    secret=SENTENCE,
    after=SENTENCE,
    whole=SENTENCE,
)
def test_redacted_text_never_in_public_text(write_testimony, before, secret, after, whole):
    canary = "qqz" + secret.replace(" ", "qqz")  # never occurs by chance in the other text
    body = f"{before} [{canary}]{{.redact}} {after}\n\n{whole} {canary}\n{{: .redact }}\n"
    t = parse_text(
        write_testimony("t1", body).read_text(encoding="utf-8"), write_testimony.directory / "t1.md"
    )
    public = (
        public_text(t) + "".join(p.html for p in t.passages) + "".join(p.id for p in t.passages)
    )
    assert canary not in public
    assert canary in "".join(p.text for p in t.passages)


PARAGRAPHS = st.lists(SENTENCE, min_size=2, max_size=8, unique=True)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(paragraphs=PARAGRAPHS, data=st.data())
def test_derived_ids_survive_inserting_and_deleting_other_passages(
    write_testimony, paragraphs, data
):
    def ids(texts: list[str]) -> dict[str, str]:
        path = write_testimony("t1", "\n\n".join(texts) + "\n")
        return {p.public_text: p.id for p in parse_file(path).passages}

    original = ids(paragraphs)
    edited = list(paragraphs)
    new = data.draw(SENTENCE.filter(lambda s: s not in paragraphs))
    edited.insert(data.draw(st.integers(0, len(edited))), new)
    del edited[data.draw(st.integers(0, len(edited) - 1))]
    after = ids(edited)
    for text, pid in after.items():
        if text in original:
            assert original[text] == pid


# --- scale -------------------------------------------------------------------


@pytest.mark.slow
def test_whole_shared_corpus_loads_without_errors():
    from conftest import WPA

    if not WPA.is_dir():
        pytest.skip(f"shared corpus not found at {WPA}")
    archive = load_archive(WPA)
    assert archive.errors == []
    assert len(archive.testimonies) == 2270
    assert sum(len(t.passages) for t in archive.testimonies.values()) == 36280
    sample = list(archive.testimonies.values())[::50]
    for t in sample:
        for p in t.passages:
            assert text_content(p.html) == p.public_text


# --- redactions that are written oddly fail closed ---------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Unit [qzsecret one]{.redact .x} here.\n",
        "Unit [qzsecret one]{.Redact} here.\n",
        "Unit [qzsecret one]{.redact #id} here.\n",
        "Unit [qzsecret [link](http://a.example)]{.redact} here.\n",
        "Para qzsecret {: .redact }\n",
        "- item qzsecret {: .redact }\n",
        "Para qzsecret\n{: .redact } and more\n",
    ],
)
def test_malformed_redactions_are_errors_not_publications(write_testimony, body):
    errors = _errors(write_testimony("t1", body))
    assert any("was not applied" in e.message for e in errors), [str(e) for e in errors]


@pytest.mark.parametrize(
    "body",
    [
        "- outer\n\n    - nested qzsecret\n      {: .redact }\n",
        "- item\n\n    second paragraph qzsecret\n    {: .redact }\n",
        "> - quoted item qzsecret\n>   {: .redact }\n",
    ],
)
def test_redactions_on_nested_blocks_are_applied(write_testimony, body):
    t = parse_file(write_testimony("t1", body))
    assert "qzsecret" not in public_text(t) + "".join(p.html for p in t.passages)
    assert REDACTED_MARKER in public_text(t)
    assert any("qzsecret" in r for p in t.passages for r in p.redactions)


def test_attributes_on_nested_blocks_are_refused(write_testimony):
    errors = _errors(write_testimony("t1", "- outer\n\n    inner\n    {: #inner-id }\n"))
    assert any("inside a passage is not allowed" in e.message for e in errors)


def test_a_redacted_passage_cannot_carry_an_id_or_themes(write_testimony):
    for attrs in ("#who-drove .redact", '.redact themes="furlough"'):
        path = write_testimony("t1", f"My brother drove me.\n{{: {attrs} }}\n")
        _one_error(path, "cannot have an #id or themes", 8)


def test_duplicate_and_merge_keys_are_refused(write_testimony):
    path = write_testimony("t1", status="restricted")
    path.write_text(path.read_text().replace("---\n\n", "status: public\n---\n\n", 1))
    _one_error(path, r"'status' is given twice \(first at line 5\)", 6)
    path.write_text("---\nid: t1\ntitle: x\n<<: {status: public}\n---\n\nBody.\n")
    _one_error(path, "merge keys", 4)
    path.write_text("---\nid: t1\ntitle: x\nyes: 1\ntrue: 2\n---\n\nBody.\n")
    _one_error(path, "mean the same", 2)


@pytest.mark.parametrize(
    ("front", "pattern", "line"),
    [
        ({"date": "2024-02-30"}, "invalid date or time", 5),
        ({"themes": "[[nested]]"}, "unknown theme", 5),
        ({"themes": "[{a: 1}]"}, "unknown theme", 5),
        ({"yes": "1"}, "unknown key 'True'", 5),
    ],
)
def test_odd_values_are_errors_not_crashes(write_testimony, front, pattern, line):
    _one_error(write_testimony("t1", **front), pattern, line)


def test_theme_errors_point_at_the_list_item(write_testimony):
    path = write_testimony("t1")
    path.write_text(
        path.read_text().replace("---\n\n", "themes:\n  - furlough\n  - dancing\n---\n\n", 1)
    )
    _one_error(path, "unknown theme 'dancing'", 7)


def test_heading_ids_are_checked(write_testimony):
    _one_error(
        write_testimony("t1", "## Part one {: #Part_One }\n\nText.\n"), "not a lowercase slug", 7
    )


def test_code_text_is_escaped_once(write_testimony):
    t = parse_file(write_testimony("t1", "The form says `a < b & c` exactly.\n"))
    [p] = t.passages
    assert p.public_text == "The form says a < b & c exactly."
    assert text_content(p.html) == p.public_text and "&amp;lt;" not in p.html


def test_validating_one_file_of_a_translation_pair(write_testimony):
    write_testimony("original", language="ru")
    translation = write_testimony("translation", translation_of="original")
    archive = load_archive(translation.parent, paths=[translation])
    assert archive.errors == []


def test_validation_errors_cross_process_boundaries_intact():
    """Worker processes (index, export) send problems back pickled: nothing may be lost."""
    import pickle

    from archive.errors import ValidationError

    error = ValidationError("t/a.md", 7, "unknown key 'titel'", hint="did you mean 'title'?")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ValidationError and str(copy) == str(error)
    assert copy.as_dict() == error.as_dict()
    both = ValidationErrors([error, ValidationError("t/b.md", None, "no title")])
    again = pickle.loads(pickle.dumps(both))
    assert [e.as_dict() for e in again.errors] == [e.as_dict() for e in both.errors]
    assert str(again) == str(both)


def test_one_converter_parses_file_after_file_with_nothing_carried_over():
    """The Markdown converter is reused: a body never sees the last one's blocks or stash."""
    front = "---\nid: {id}\ntitle: T\nlanguage: en\nstatus: public\n---\n"
    first = front.format(id="a") + "One &amp; two [secret]{.redact}.\n\n* a list\n* of two\n"
    blank = front.format(id="b") + "\n"
    alone = parse_text(first, "a.md")
    parse_text(first, "a.md")
    with pytest.raises(ValidationErrors, match="the body has no passages"):
        parse_text(blank, "b.md")
    again = parse_text(first, "a.md")
    assert again.passages == alone.passages
    assert [p.public_text for p in again.passages] == ["One & two [redacted].", "a list", "of two"]
    # A body that failed mid-parse may leave the block parser's state set: the next
    # body must not be read as if it were still inside a list.
    from archive.parse import _markdown

    _markdown().parser.state.set("list")
    assert parse_text(first, "a.md").passages == alone.passages


def test_plain_text_shortcut_parses_exactly_as_full_inline_processing(monkeypatch):
    """Text no inline pattern can match skips python-markdown's inline pass: every
    testimony must parse to the very same passages as with the pass run on everything."""
    from conftest import SAMPLES, WPA, small_corpus_ids

    import archive.parse as parse

    paths = sorted(SAMPLES.glob("*.md"))
    if WPA.is_dir():
        paths += [WPA / f"{testimony_id}.md" for testimony_id in small_corpus_ids()]
    front = "---\nid: inline\ntitle: T\nlanguage: en\nstatus: public\n---\n\n"
    markup = (
        "Plain words, then `code`, a \\*literal star\\*, [a link](https://example.org) and "
        "[words]{.redact}.\n\nA line with a break  \nafter it, &amp; an entity, "
        "<https://example.org/auto>, *em* and __strong__ and snake_case_words.\n\n"
        "- plain item\n- item with *stress*\n{: #items }\n\n> quoted plain\n> and *marked* text\n"
    )

    def parsed() -> list:
        parse._CONVERTERS.md = None  # a converter built as the setting now says
        found = [parse.parse_text(front + markup, "inline.md")]
        found += [parse.parse_text(path.read_text(encoding="utf-8"), str(path)) for path in paths]
        return [(t.id, t.blocks, t.passages) for t in found]

    assert parse._skips_plain_text(parse._markdown()), "the shortcut is not installed"
    fast = parsed()
    monkeypatch.setattr(parse, "_skips_plain_text", lambda md: False)
    full = parsed()
    monkeypatch.undo()
    parse._CONVERTERS.md = None
    assert fast == full
    assert "<code>code</code>" in fast[0][2][0].html and "<em>em</em>" in fast[0][2][1].html


def test_a_file_without_status_is_an_error_and_never_public(write_testimony):
    path = write_testimony("t1", status=None)
    error = _one_error(path, r"'status' is required", 1)
    assert "status: restricted" in (error.hint or "")
    archive = load_archive(path.parent)
    assert not archive.testimonies  # not loaded, so never served, indexed or exported
