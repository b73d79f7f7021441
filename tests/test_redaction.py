"""Redact first, render second: every Markdown construct around a redaction, in English,
Russian and Ukrainian, with canary words, through validate, index, the app and the export.

Each construct is either redacted (zero canaries in every byte of every output) or
refused with ``file:line`` (look-alike markup, anything like redaction in the front
matter). Property tests compose constructs around redactions and look at the public
source and every rendered form.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from canaries import Canary, canaries_in, canaries_in_bytes
from helpers import make_app, run_archive
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive import ValidationErrors, load_archive
from archive.model import REDACTED_MARKER, public_text
from archive.parse import account_statuses, parse_text
from archive.redaction import public_source

TODAY = "2025-06-01"
#: The canary's stem per language; each construct appends its own letters.
STEMS = {"en": "qzxsecret", "ru": "щюсекрет", "uk": "ґїтаємн"}

#: Constructs that keep the file valid: the canary must vanish from every output.
#: ``{R}`` is an inline redaction of the canary, ``{C}`` the bare canary.
REDACTED = {
    "linktext": "See [the {R} story](https://news.example.org/story) today.\n",
    "linkaddress": "See [here](https://social.example.org/{R}) today.\n",
    "linktitle": 'See [the article](https://news.example.org/story "Interview with {R}").\n',
    "attrtitle": 'See [the article](https://news.example.org/x){{: title="{R}" }} now.\n',
    "image": 'Look: ![A photo of {R}](https://img.example.org/{R}.png "{R}") here.\n',
    "autolink": "Profile: <https://example.org/{R}/home> here.\n",
    "reference": 'See [the file][r] and [the other][r].\n\n[r]: https://x.example.org/{R} "{R}"\n',
    "heading": "## The {R} unit\n\nA passage after the heading.\n",
    "table": "| who | where |\n|-----|-------|\n| {R} | here |\n",
    "footnote": "A claim.[^1]\n\n[^1]: Said by {R} at the checkpoint.\n",
    "deflist": "Commander\n: {R} gave the order\n",
    "nestedlist": "- outer item\n    - inner {R} item\n    - another\n",
    "blockquote": "> quoted {R} words\n> and more of them\n",
    "codespan": "He typed `{R}` into the form.\n",
    "codeblock": "A passage first.\n\n    code {R} here\n",
    "multiline": "Before [the\n{C} unit]{{.redact}} after.\n",
    "wholepassage": "My commander {C} signed the papers.\n{{: .redact }}\n",
    "wholequote": "> {C} said one thing.\n>\n> And {C} said another.\n> {{: .redact }}\n",
    "wholeitem": "- first item\n- the {C} item\n  {{: .redact }}\n",
    "emphasis": "Some ***{R}*** and _{R}_ words.\n",
}
#: Look-alike markup in the body: refused at the line that holds it (line 14).
LOOKALIKES = {
    "fullwidth": "[{C}]｛.redact｝ was there.\n",
    "smallform": "[{C}]﹛.redact﹜ was there.\n",
    "ornament": "[{C}]❴.redact❵ was there.\n",
    "misspelt": "[{C}]{{.redcat}} was there.\n",
    "uppercase": "[{C}]{{ .Redact }} was there.\n",
    "redacted": "[{C}]{{.redacted}} was there.\n",
    "nodot": "[{C}]{{redact}} was there.\n",
    "escaped": "\\[{C}\\]{{.redact}} was there.\n",
    "escapedbrace": "[{C}]\\{{.redact}} was there.\n",
    "unclosed": "[{C}]{{.redact was there.\n",
    "entity": "[{C}]&#123;.redact&#125; was there.\n",
    "cyrillic": "[{C}]{{.rеdact}} was there.\n",
    "zerowidth": "[{C}]{{.re\u200bdact}} was there.\n",
    "extraclass": "[{C}]{{.redact .x}} was there.\n",
    "onlink": "[{C}](https://a.example.org/){{.redact}} was there.\n",
    "inheading": "## {C} {{: .redact }}\n\nA passage.\n",
    # Found by an attack: attr_list reads "{:\u00a0.redact }" as an attribute without a
    # value, and the parser crashed on it ("could not be read (TypeError...)").
    "nbspblock": "{C} was there.\n{{:\u00a0.redact }}\n",
}
#: Look-alikes refused at a later line of their template than its first.
LOOKALIKE_LINE = {"nbspblock": 1}
#: Redaction markup in a front-matter field: refused at that field's line.
FRONT = {
    "narrator": ("narrator", '"[{C}]{{.redact}}"'),
    "place": ("place", '"[{C}]{{.redact}} region"'),
    "title": ("title", '"The {C} ｛.redact｝"'),
    "source": ("source", '"Papers of {C} {{.redact"'),
    "interviewer": ("interviewer", '"{C} .redact}}"'),
    "license": ("license", '"\\u007b.redact\\u007d"'),
}


def canary(language: str, name: str) -> str:
    letters = "".join(
        "abcdefghij"[int(d)] if language == "en" else "абвгдежзик"[int(d)]
        for d in str(zlib.crc32(name.encode()) % 10**6)
    )
    return STEMS[language] + letters


def front(testimony_id: str, language: str, **extra: str) -> str:
    fields = {
        "id": testimony_id,
        "title": f'"Account {testimony_id}"',
        "narrator": '"A pseudonym"',
        "language": language,
        "status": "public",
        "date": "2023-05-01",
        "place": '"A region"',
        "source": '"Written for the redaction tests"',
        "license": '"CC BY 4.0"',
        "interviewer": '"Staff"',
    } | extra
    return "---\n" + "".join(f"{k}: {v}\n" for k, v in fields.items()) + "---\n\n"


def body(template: str, word: str) -> str:
    return template.format(R=f"[{word}]{{.redact}}", C=word)


def write_archive(directory: Path) -> dict[str, dict]:
    """Every construct in every language; returns what each file is expected to do."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    for language in STEMS:
        for kind, table in (("redacted", REDACTED), ("lookalike", LOOKALIKES)):
            for name, template in table.items():
                tid = f"{kind[:3]}-{name}-{language}"
                word = canary(language, f"{kind}{name}")
                text = front(tid, language) + body(template, word)
                (directory / f"{tid}.md").write_text(text, encoding="utf-8")
                line = 14 + LOOKALIKE_LINE.get(name, 0)
                files[tid] = {"kind": kind, "word": word, "language": language, "line": line}
        for name, (key, value) in FRONT.items():
            tid = f"fm-{name}-{language}"
            word = canary(language, f"front{name}")
            text = front(tid, language, **{key: value.format(C=word)}) + "A plain passage.\n"
            (directory / f"{tid}.md").write_text(text, encoding="utf-8")
            line = 2 + list(front(tid, language).split("\n")[1:]).index(
                next(x for x in front(tid, language).split("\n") if x.startswith(f"{key}:"))
            )
            files[tid] = {"kind": "front", "word": word, "language": language, "line": line}
    for info in files.values():
        info["canary"] = Canary(info["word"], info["language"], "inline")
    return files


def _all_canaries(files: dict[str, dict]) -> list[Canary]:
    return [info["canary"] for info in files.values()]


# --- the library --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive_dir(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    directory = tmp_path_factory.mktemp("redaction") / "testimonies"
    return directory, write_archive(directory)


def test_each_construct_is_redacted_or_refused_with_file_and_line(archive_dir):
    directory, files = archive_dir
    archive = load_archive(directory)
    refused = {Path(e.path).stem: str(e) for e in archive.errors}
    for tid, info in files.items():
        if info["kind"] == "redacted":
            assert tid in archive.testimonies, f"{tid}: {refused.get(tid)}"
        else:
            assert tid not in archive.testimonies, tid
            lines = {e.line for e in archive.errors if Path(e.path).stem == tid}
            assert info["line"] in lines, (tid, info["line"], [str(e) for e in archive.errors])
    # No message quotes a secret (the archivist's terminal is not the place either).
    assert canaries_in("\n".join(map(str, archive.errors)), _all_canaries(files)) == set()


def test_redacted_constructs_hold_no_canary_in_any_public_form(archive_dir):
    directory, files = archive_dir
    archive = load_archive(directory)
    for tid, t in archive.testimonies.items():
        info = files[tid]
        public = public_text(t) + "".join(p.html + p.id for p in t.passages)
        public += "".join(b.html for b in t.blocks)
        assert canaries_in(public, [info["canary"]]) == set(), (tid, public)
        if "image" not in tid:  # images are never published (the sanitiser drops <img>)
            assert REDACTED_MARKER in public, tid
        private = "".join(p.text for p in t.passages) + "".join(
            r for p in t.passages for r in p.redactions
        )
        if not any(b.tag in ("pre", "h2") for b in t.blocks):  # not passages: not kept
            assert info["word"] in private, (tid, private)  # the private side still has them


def test_a_link_whose_address_held_a_redaction_is_text(write_testimony):
    path = write_testimony("t1", "See [here](https://social.example.org/[qzxh]{.redact}) now.\n")
    t = parse_text(path.read_text(encoding="utf-8"), path)
    html = t.passages[0].html
    assert "href" not in html and "<a" not in html and "here" in html
    path = write_testimony("t1", '[a](https://x.example.org/ok "by [qzxh]{.redact}") now.\n')
    html = parse_text(path.read_text(encoding="utf-8"), path).passages[0].html
    assert 'href="https://x.example.org/ok"' in html and 'title="by [redacted]"' in html


# --- the commands, the app and the export ---------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory, archive_dir):
    """The valid files only (the export refuses an archive with any error), indexed."""
    source, files = archive_dir
    tmp = tmp_path_factory.mktemp("served")
    directory = tmp / "testimonies"
    directory.mkdir()
    for tid, info in files.items():
        if info["kind"] == "redacted":
            (directory / f"{tid}.md").write_bytes((source / f"{tid}.md").read_bytes())
    result = run_archive(
        "--testimonies", str(directory), "--index", str(tmp / "index"), "index", today=TODAY
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return directory, tmp / "index", files, result.stdout + result.stderr


def test_validate_refuses_the_lookalikes_and_quotes_no_secret(archive_dir):
    directory, files = archive_dir
    result = run_archive("--testimonies", str(directory), "validate", today=TODAY)
    assert result.returncode == 1
    for tid, info in files.items():
        if info["kind"] != "redacted":
            assert f"{tid}.md:{info['line']}:" in result.stderr, tid
    assert canaries_in(result.stdout + result.stderr, _all_canaries(files)) == set()


def test_index_holds_no_canary(served):
    _, index, files, output = served
    assert canaries_in(output, _all_canaries(files)) == set()
    found = {
        str(p): canaries_in_bytes(p.read_bytes(), _all_canaries(files))
        for p in (index / "public").rglob("*")
        if p.is_file()
    }
    assert {name: hit for name, hit in found.items() if hit} == {}


def test_every_page_of_the_app_holds_no_canary(served):
    directory, index, files, _ = served
    app = make_app(directory, index, today=TODAY)
    client = app.test_client()
    paths = ["/", "/index.json", "/feed.xml", "/sitemap.xml", "/browse/", "/browse.json"]
    paths += ["/browse/place/a-region/", "/browse/language/ru/", "/browse/date/2020s/"]
    for tid in files:
        if files[tid]["kind"] == "redacted":
            paths += [f"/t/{tid}/", f"/t/{tid}.json", f"/t/{tid}/cite.bibtex"]
    for word in ("redacted", "unit", "passage", "item"):
        paths += [f"/search/?q={word}", f"/search.json?q={word}"]
    pages = 0
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        pages += response.status_code == 200
        assert canaries_in_bytes(response.data, _all_canaries(files)) == set(), path
    assert pages > 100


def test_the_export_holds_no_canary(served, tmp_path):
    directory, _, files, _ = served
    out = tmp_path / "site"
    result = run_archive(
        "--testimonies", str(directory), "--index", str(tmp_path / "ix"), "export", str(out),
        "--base-url", "http://127.0.0.1:8000/", today=TODAY,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    found = {
        str(p.relative_to(out)): canaries_in_bytes(p.read_bytes(), _all_canaries(files))
        for p in out.rglob("*")
        if p.is_file()
    }
    assert len(found) > 60
    assert {name: hit for name, hit in found.items() if hit} == {}


# --- hostile bodies and fields --------------------------------------------------------------


def test_deep_nesting_is_one_error_beside_valid_files(tmp_path):
    directory = tmp_path / "testimonies"
    directory.mkdir()
    (directory / "good.md").write_text(front("good", "en") + "A fine passage.\n")
    (directory / "deep.md").write_text(front("deep", "en") + "*" * 2000 + "x" + "*" * 2000 + "\n")
    (directory / "ctrl.md").write_text(front("ctrl", "en", title='"Form\\u0000feed"') + "A\x0cb\n")
    result = subprocess.run(
        [sys.executable, "-m", "archive", "--testimonies", str(directory), "validate"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert re.search(r"deep\.md:14: the body's markup is nested too deeply", result.stderr)
    assert re.search(r"ctrl\.md:3: title: control character", result.stderr)
    assert re.search(r"ctrl\.md:14: control character '\\x0c'", result.stderr)
    assert "3 file(s) checked: 1 valid" in result.stdout
    assert "Traceback" not in result.stderr


def test_translations_share_the_stricter_status(tmp_path):
    directory = tmp_path / "testimonies"
    directory.mkdir()
    (directory / "orig.md").write_text(
        front("orig", "ru", status="embargoed", publish_after="2030-01-01") + "Текст.\n"
    )
    (directory / "tr-en.md").write_text(front("tr-en", "en", translation_of="orig") + "The text.\n")
    (directory / "tr-uk.md").write_text(
        front("tr-uk", "uk", translation_of="orig", status="embargoed", publish_after="2031-05")
        + "Текст.\n"
    )
    archive = load_archive(directory)
    assert archive.errors == []
    assert {t.id: (t.status, str(t.publish_after)) for t in archive.testimonies.values()} == {
        "orig": ("embargoed", "2031-05"),
        "tr-en": ("embargoed", "2031-05"),
        "tr-uk": ("embargoed", "2031-05"),
    }
    import datetime as dt

    assert archive.public(dt.date(2031, 5, 31)) == []
    assert len(archive.public(dt.date(2031, 6, 1))) == 3
    assert sorted(Path(w.path).stem for w in archive.warnings) == ["orig", "tr-en"]
    result = run_archive("--testimonies", str(directory), "validate", today=TODAY)
    assert result.returncode == 0 and result.stderr.count("warning:") == 2


@pytest.mark.parametrize(
    "versions, withheld",
    [
        # a chain: a translation of a translation of a restricted original
        ({"o": {"status": "restricted"}, "t": {"translation_of": "o"},
          "u": {"translation_of": "t"}}, {"o", "t", "u"}),
        # the stricter status spreads up to the original and across to its other versions
        ({"o": {}, "t": {"translation_of": "o"}, "u": {"translation_of": "t",
          "status": "restricted"}, "v": {"translation_of": "o"}}, {"o", "t", "u", "v"}),
        # an original that does not load (missing, or refused) withholds its translation
        ({"t": {"translation_of": "gone"}}, {"t"}),
        ({"o": {"status": "restricted", "place": '"[Town]{.redact}"'},
          "t": {"translation_of": "o"}}, {"t"}),
        # accounts apart stay apart
        ({"o": {"status": "restricted"}, "p": {}, "t": {"translation_of": "p"}}, {"o"}),
    ],
)  # fmt: skip
def test_an_account_is_public_only_while_every_version_is(tmp_path, versions, withheld):
    """Found by an attack: chains, the stricter status going back up, and a dropped
    original left translations public. The index, the app and the export judge alike."""
    directory = tmp_path / "testimonies"
    directory.mkdir()
    words = {}
    for tid, extra in versions.items():
        words[tid] = canary("en", f"account-{tid}")
        (directory / f"{tid}.md").write_text(front(tid, "en", **extra) + f"Said {words[tid]}.\n")
    archive = load_archive(directory)
    public = {t.id for t in archive.public(dt.date(2026, 12, 1))}
    loaded = set(archive.testimonies)
    assert public == loaded - withheld
    shared = account_statuses(directory)  # what the index's workers go by
    assert all(shared[t][0] != "public" for t in withheld & loaded if t in shared)
    index = tmp_path / "index"
    run_archive("--testimonies", str(directory), "--index", str(index), "index", today=TODAY)
    held = {words[t].encode() for t in withheld if t in words}
    files = [p for p in (index / "public").rglob("*") if p.is_file()]
    assert files  # the public index was written where the app reads it
    for path in files:
        data = path.read_bytes().lower()
        assert not [w for w in held if w in data], path
    client = make_app(directory, index, today=TODAY).test_client()
    for tid in withheld & loaded:
        assert client.get(f"/t/{tid}/").status_code == 404
    feed = client.get("/feed.xml").get_data(as_text=True)
    assert not [t for t in withheld if words[t] in feed]


# --- properties -------------------------------------------------------------------------------

SECRET = st.text(alphabet="abcdefghijklmnopqrstuvwxyzщюжґї ", min_size=1, max_size=12).map(
    lambda s: "qzv" + s.replace(" ", "qzv")
)
#: Constructs a redaction may sit in; ``{}`` is where it goes.
WRAPPERS = st.sampled_from(
    [
        "{}", "*{}*", "**{}**", "`{}`", "[{}](https://a.example.org/)",
        "[x](https://a.example.org/{})", '[x](https://a.example.org/ "{}")', "<https://e.org/{}>",
        "![{}](https://i.example.org/{}.png)", "# {}", "> {}", "- {}", "1. {}", "    {}",
        "| {} | x |", "[^{}]", "Term\n: {}", "- a\n    - {}", "> - {}", "[r][{}]",
        '[r]: https://r.example.org/{} "{}"',
    ]
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    secret=SECRET,
    layers=st.lists(WRAPPERS, min_size=1, max_size=3),
    whole=st.booleans(),
    prose=st.sampled_from(["Before", "Перед тим", "Он сказал", ""]),
)
def test_no_composition_publishes_a_redacted_word(write_testimony, secret, layers, whole, prose):
    text = f"[{secret}]{{.redact}}" if not whole else secret
    for layer in layers:
        text = layer.replace("{}", text) if "\n" in layer else layer.format(text, text)
    body = f"{prose} {text}\n" + ("{: .redact }\n" if whole else "")
    source = public_source(body, "t1.md", 7)
    if not whole:
        assert secret not in source.text
    path = write_testimony("t1", body)
    try:
        t = parse_text(path.read_text(encoding="utf-8"), path)
    except ValidationErrors:
        return  # refused: nothing published
    public = public_text(t) + "".join(p.html + p.id for p in t.passages)
    public += "".join(b.html for b in t.blocks)
    assert secret not in public, (body, public)
