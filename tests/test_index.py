"""The index: only public text in the public index, atomic swaps, crash recovery, updates."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from canaries import CANARIES, LATER, decompressed_parts, write_canary_archive
from whoosh import fields as wf
from whoosh.qparser import QueryParser
from whoosh.query import Every, NumericRange, Term
from whoosh.reading import SegmentReader

from archive import index as index_module
from archive.analysis import analyze, fold
from archive.config import resolve_config
from archive.errors import IndexBusyError, IndexError_, ValidationErrors
from archive.fields import text_field, unpack_offsets, unpack_terms
from archive.index import (
    IndexHandle,
    MappedStorage,
    _MappedFile,
    _ViewReader,
    build_index,
    current_generation,
    ensure_index,
    open_index,
    schema,
)
from archive.model import passage_offsets
from archive.parse import parse_file
from archive.search import search

TODAY = dt.date(2026, 1, 15)


def config_for(archive_dir: Path, index_dir: Path, today: dt.date | None = TODAY):
    return resolve_config(testimonies=archive_dir, index=index_dir, today=today)


def run_cli(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "archive", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "ARCHIVE_TODAY": TODAY.isoformat(), **(env or {})},
        **kwargs,
    )


def search_keys(handle: IndexHandle, field: str, text: str) -> list[str]:
    query = QueryParser(field, handle.schema).parse(text)
    with handle.searcher() as searcher:
        return [hit["key"] for hit in searcher.search(query, limit=None)]


def generations(index_path: Path) -> list[str]:
    return sorted(p.name for p in index_path.iterdir() if p.name.startswith("gen-"))


# --- canaries ----------------------------------------------------------------------


def needles(word: str, language: str) -> set[bytes]:
    """Every form a word may take in index files: as written, folded, cased, analysed."""
    forms = {word, word.lower(), word.upper(), word.casefold(), fold(word)}
    forms |= set(analyze(word, language)) | set(analyze(word, "other"))
    # A stem can be short: a 6-letter prefix of a made-up word is still unique.
    forms |= {fold(word)[:6]}
    return {f.encode("utf-8") for f in forms if f}


def found_in_files(root: Path, words: dict[str, str]) -> set[str]:
    """Which of ``words`` (word -> language) any byte of any file under ``root`` holds."""
    wanted = {word: needles(word, language) for word, language in words.items()}
    found = set()
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        blobs = [data, data.lower(), *decompressed_parts(data)]
        for word, forms in wanted.items():
            if any(form in blob for blob in blobs for form in forms):
                found.add(word)
    return found


def found_through_whoosh(handle: IndexHandle, words: dict[str, str]) -> set[str]:
    """Which words Whoosh can still read back, deleted documents included."""
    found = set()
    prefixes = {word: fold(word)[:6] for word in words}
    for leaf, _offset in handle.reader.leaf_readers():
        assert isinstance(leaf, SegmentReader)
        terms = [text for _field, text in leaf.all_terms()]
        stored = [leaf.stored_fields(n) for n in range(leaf.doc_count_all())]
        blob = " ".join(
            [t.decode("utf-8", "replace") for t in terms]
            + [json.dumps(s, ensure_ascii=False) for s in stored]
        )
        blob = fold(blob)
        found |= {word for word, prefix in prefixes.items() if prefix in blob}
    for word, language in words.items():
        field = text_field(language)
        if search_keys(handle, field, word):
            found.add(word)
    return found


def write_changing_archive(write_testimony) -> dict[str, str]:
    """The canary archive, and in each language two public testimonies that will change;
    returns word -> language of every word planted."""
    write_canary_archive(write_testimony.directory)
    for lang, words in LATER.items():
        write_testimony(
            f"changing-{lang}",
            f"This account is public for now and names {words['restricted']}.\n",
            language=lang,
        )
        write_testimony(
            f"redacting-{lang}",
            f"First passage stays.\n\nSecond passage names {words['redacted']} openly.\n",
            language=lang,
        )
    later = {word: lang for lang, words in LATER.items() for word in words.values()}
    return {c.word: c.language for c in CANARIES} | later


def withdraw_canaries(write_testimony) -> None:
    """The two later changes: one testimony becomes restricted, one passage gets redacted."""
    for lang, words in LATER.items():
        write_testimony(
            f"changing-{lang}",
            f"This account is public for now and names {words['restricted']}.\n",
            language=lang,
            status="restricted",
        )
        write_testimony(
            f"redacting-{lang}",
            "First passage stays.\n\n"
            f"Second passage names [{words['redacted']}]{{.redact}} openly.\n",
            language=lang,
        )


def test_canaries_never_reach_the_public_index(write_testimony, index_dir):
    words = write_changing_archive(write_testimony)
    never = {c.word: c.language for c in CANARIES}
    later = {w: lang for w, lang in words.items() if w not in never}
    config = config_for(write_testimony.directory, index_dir)

    report = build_index(config, include_restricted=True)
    assert report.mode == "full" and report.withheld == 6 and report.testimonies == 9
    assert found_in_files(config.public_index, never) == set()
    # The scanner does find words that are public (yet): the test can fail.
    assert found_in_files(config.public_index, later) == set(later)
    # And the private index holds everything, in the files and through Whoosh.
    assert found_in_files(config.private_index, words) == set(words)
    with open_index(config.private_index) as private:
        assert private.kind == "private"
        assert found_through_whoosh(private, words) == set(words)
    with open_index(config.public_index) as public:
        assert found_through_whoosh(public, never) == set()
        assert found_through_whoosh(public, later) == set(later)

    withdraw_canaries(write_testimony)
    report = build_index(config, include_restricted=True)
    assert report.mode == "incremental"
    assert (report.updated, report.removed, report.withdrawn) == (3, 3, 6)
    assert found_in_files(config.public_index, words) == set()
    with open_index(config.public_index) as public:
        assert found_through_whoosh(public, words) == set()
        assert search_keys(public, "text_en", "riverbank")  # the rest is still there
    assert found_in_files(config.private_index, words) == set(words)

    # A full rebuild through the command line keeps them out too.
    result = run_cli(
        "--testimonies", str(write_testimony.directory), "--index", str(index_dir), "index",
        "--full",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert found_in_files(config.public_index, words) == set()


def test_a_restricted_testimony_is_gone_from_every_public_file(write_testimony, index_dir):
    """A public testimony that turns restricted leaves no trace, even in old generations."""
    write_testimony("keep", "Nothing to hide here at all.\n")
    write_testimony("turns", "The witness named flurbington as his commander.\n")
    config = config_for(write_testimony.directory, index_dir)
    build_index(config)
    write_testimony("extra", "A later, harmless addition.\n")
    build_index(config)  # an addition: the previous generation is kept
    assert len(generations(config.public_index)) == 2
    assert found_in_files(config.public_index, {"flurbington": "en"}) == {"flurbington"}

    write_testimony("turns", "The witness named flurbington.\n", status="restricted")
    report = build_index(config)
    assert report.mode == "incremental" and report.withdrawn == 1
    assert generations(config.public_index) == [report.generation.name]
    assert found_in_files(config.public_index, {"flurbington": "en"}) == set()
    manifest = (report.generation / "manifest.json").read_text()
    assert "turns" not in manifest  # withheld files appear only as salted hashes


# --- documents ---------------------------------------------------------------------


def test_schema_has_the_documented_fields():
    s = schema()
    for name in ("key", "testimony", "passage", "place_facet", "language", "date", "decade"):
        assert isinstance(s[name], wf.ID)
    assert s["key"].unique
    for name in ("text_en", "text_ru", "text_uk", "text_other"):
        # Frequencies only: the blocks every search reads stay small.
        assert isinstance(s[name], wf.TEXT) and s[name].spelling and s[name].scorable
        assert s[name].format.__class__.__name__ == "Frequency"
        pairs = s[name.replace("text_", "pairs_")]
        assert pairs.scorable and pairs.format.__class__.__name__ == "Frequency"
    assert "spell_text_en" in s  # the unstemmed words "did you mean" suggests
    assert [t.text for t in s["pairs_en"].analyzer("The dogs barked")] == ["the dog", "dog bark"]
    assert isinstance(s["themes"], wf.KEYWORD) and s["themes"].scorable
    for name in ("position", "offset", "date_sort", "year"):
        assert isinstance(s[name], wf.NUMERIC)
    assert s["position"].column_type and s["date_sort"].column_type
    for name in ("text", "speaker", "source", "license"):
        assert isinstance(s[name], wf.STORED)
    for name in ("terms", "term_offsets"):  # read per document, apart from the stored record
        assert isinstance(s[name], wf.COLUMN) and not s[name].stored


def test_documents_carry_fields_offsets_and_theme_tree(write_testimony, index_dir):
    path = write_testimony(
        "ru-officer",
        '**Иван:** Меня отпустили в отпуск весной.\n{: themes="furlough" }\n\n'
        "Потом я не вернулся в часть.\n",
        language="ru",
        date='"1937-05"',
        place='"Kharkiv region"',
        narrator='"Ivan (pseudonym)"',
        themes="[family]",
    )
    write_testimony("undated", "An undated account.\n", language="de")
    config = config_for(write_testimony.directory, index_dir)
    build_index(config)
    testimony = parse_file(path)
    with open_index(config.public_index) as handle:
        with handle.searcher() as s:
            docs = sorted(s.documents(testimony="ru-officer"), key=lambda d: d["position"])
            assert [d["position"] for d in docs] == [0, 1]
            offsets = passage_offsets(testimony)
            assert [d["offset"] for d in docs] == [offsets[d["passage"]] for d in docs]
            first = docs[0]
            assert first["key"] == f"ru-officer/{first['passage']}"
            assert first["speaker"] == "Иван"
            assert first["themes"] == "furlough family"
            assert first["date"] == "1937-05" and first["decade"] == "1930s"
            assert first["place_facet"] == "Kharkiv region"
            assert first["language"] == "ru"
            # The terms in order, each at its place in the stored text.
            assert "terms" not in first and "term_offsets" not in first
            docnum = next(s.document_numbers(key=first["key"]))
            reader = s.reader()
            words = unpack_terms(reader.column_reader("terms", translate=False)[docnum])
            assert words == analyze(first["text"], "ru")
            spans = unpack_offsets(reader.column_reader("term_offsets", translate=False)[docnum])
            assert [first["text"][spans[2 * i] : spans[2 * i + 1]] for i in range(len(words))] == [
                "Иван", "Меня", "отпустили", "в", "отпуск", "весной",
            ]  # fmt: skip
            assert s.search(Term("theme_tree", "leaving-service")).scored_length() == 1
            assert s.search(Term("themes", "leaving-service")).scored_length() == 0
            [other] = s.documents(testimony="undated")
            assert other["language"] == "de" and "date" not in other
            by_date = s.search(Every(), sortedby=["date_sort", "position"])
            assert [h["testimony"] for h in by_date] == ["undated", "ru-officer", "ru-officer"]
            assert s.search(NumericRange("year", 1930, 1939)).scored_length() == 2
        # Russian stemming in text_ru; other languages only folded, in text_other.
        assert len(search_keys(handle, "text_ru", "отпуска")) == 1
        assert search_keys(handle, "text_other", "UNDATED") == [f"undated/{other['passage']}"]
        assert search_keys(handle, "text_en", "undated") == []
        assert len(search_keys(handle, "narrator", "ivan")) == 2
        assert len(search_keys(handle, "place", "kharkiv")) == 2


# --- incremental updates -----------------------------------------------------------


def test_incremental_counts_each_kind_of_change(write_testimony, index_dir):
    for i in range(4):
        write_testimony(f"t{i}", f"Passage one of t{i}.\n\nPassage two of t{i}.\n")
    config = config_for(write_testimony.directory, index_dir)
    first = build_index(config)
    assert (first.mode, first.added, first.passages) == ("full", 4, 8)

    again = build_index(config)
    assert again.mode == "unchanged" and again.generation == first.generation

    write_testimony("t1", "Passage one of t1.\n\nPassage two of t1.\n\nA new third passage.\n")
    changed = build_index(config)
    assert changed.mode == "incremental"
    assert (changed.updated, changed.unchanged, changed.added, changed.removed) == (1, 3, 0, 0)
    assert changed.withdrawn == 0 and changed.passages == 9

    write_testimony("t9", "A new testimony.\n")
    added = build_index(config)
    assert (added.mode, added.added, added.unchanged) == ("incremental", 1, 4)

    (write_testimony.directory / "t0.md").unlink()
    removed = build_index(config)
    assert (removed.mode, removed.removed, removed.withdrawn) == ("incremental", 1, 1)

    write_testimony("t2", "Passage one of t2.\n", status="restricted")
    restricted = build_index(config)
    assert (restricted.removed, restricted.withheld, restricted.testimonies) == (1, 1, 3)

    write_testimony("t2", "Passage one of t2, still restricted.\n", status="restricted")
    assert build_index(config).mode == "incremental"  # only the manifest's mark changes
    with open_index(config.public_index) as handle:
        assert handle.doc_count == 6  # t1: 3, t3: 2, t9: 1
        assert search_keys(handle, "text_en", "t2") == []
        assert len(search_keys(handle, "text_en", "third")) == 1


def test_an_addition_leaves_other_segments_alone(write_testimony, index_dir, monkeypatch):
    """Appending text is an addition: old segments stay (hard links), the previous generation too."""
    monkeypatch.setattr(index_module, "SMALL_SEGMENT_DOCS", 0)
    for i in range(3):
        write_testimony(f"t{i}", f"Passage of t{i} about the quarry.\n")
    config = config_for(write_testimony.directory, index_dir)
    first = build_index(config)
    segment_files = {p.name: p.stat().st_ino for p in first.generation.glob("*.seg")}

    write_testimony("t1", "Passage of t1 about the quarry.\n\nAnd the mill.\n")
    report = build_index(config)
    assert (report.mode, report.withdrawn, report.segments) == ("incremental", 0, 2)
    for name, inode in segment_files.items():
        assert (report.generation / name).stat().st_ino == inode
    assert generations(config.public_index) == [first.generation.name, report.generation.name]

    write_testimony("t1", "Passage of t1 about the gravel pit.\n\nAnd the mill.\n")
    report = build_index(config)
    assert report.withdrawn == 1  # "quarry" left t1: its old documents are purged
    assert not set(segment_files) & {p.name for p in report.generation.glob("*.seg")}
    assert generations(config.public_index) == [report.generation.name]
    with open_index(config.public_index) as handle:
        keys = search_keys(handle, "text_en", "quarry")
        assert sorted(k.split("/")[0] for k in keys) == ["t0", "t2"]


def test_updates_fall_back_to_a_full_build(write_testimony, index_dir, monkeypatch):
    monkeypatch.setattr(index_module, "SMALL_SEGMENT_DOCS", 0)
    monkeypatch.setattr(index_module, "MAX_SEGMENTS", 2)
    for i in range(3):
        write_testimony(f"t{i}", f"Account {i}.\n")
    config = config_for(write_testimony.directory, index_dir)
    assert build_index(config).segments == 1
    write_testimony("t0", "Account 0.\n\nMore.\n")
    assert build_index(config).segments == 2
    write_testimony("t1", "Account 1.\n\nMore.\n")
    report = build_index(config)
    assert (report.mode, report.reason) == ("full", "more than 2 segments: rebuilding to compact")
    assert report.segments == 1 and report.updated == 1

    write_testimony("t2", "Account two.\n")  # withdrawn, in the one segment all share
    report = build_index(config)
    assert report.mode == "full"
    assert report.reason == "withdrawn text is spread over a large part of the index"


@pytest.mark.parametrize(
    ("edit", "withdrawn"),
    [
        ({"body": "The mill by the river.\n\nA new passage.\n"}, 0),
        ({"body": "The mill by the river. At dawn.\n"}, 0),
        ({"body": 'The mill by the river.\n{: themes="family" }\n'}, 0),
        ({"body": "The mill by the river, at dawn.\n"}, 1),  # the old sentence is not there
        ({"body": "The mil by the river.\n"}, 1),  # a typo fix drops the old spelling
        ({"body": "The mill by the [river]{.redact}.\n"}, 1),
        ({"narrator": '"I. P."'}, 1),
        ({"title": '"Renamed"'}, 1),
        ({"themes": "[]"}, 1),
    ],
)
def test_what_counts_as_withdrawn(write_testimony, index_dir, edit, withdrawn):
    front = {"narrator": '"Ivan Petrenko"', "themes": "[furlough]"}
    write_testimony("t1", "The mill by the river.\n", **front)
    config = config_for(write_testimony.directory, index_dir)
    build_index(config)
    body = edit.pop("body", "The mill by the river.\n")
    write_testimony("t1", body, **(front | edit))
    report = build_index(config)
    assert (report.mode, report.updated, report.withdrawn) == ("incremental", 1, withdrawn)


def test_a_renamed_passage_id_leaves_no_trace(write_testimony, index_dir):
    """An explicit passage id can name what it is about (a place, a unit): renamed, the old
    one is gone from every file of the public index, as a withdrawn word is."""
    write_testimony("keep", "A harmless account of the harvest.\n")
    body = "The mill by the river.\n{: #%s }\n\nWe left at dawn.\n"
    write_testimony("t1", body % "quorvale-crossing")
    config = config_for(write_testimony.directory, index_dir)
    build_index(config)
    assert found_in_files(config.public_index, {"quorvale": "en"}) == {"quorvale"}
    write_testimony("t1", body % "the-crossing")
    report = build_index(config)
    assert (report.mode, report.withdrawn) == ("incremental", 1)
    assert found_in_files(config.public_index, {"quorvale": "en"}) == set()
    with open_index(config.public_index) as public:
        assert found_through_whoosh(public, {"quorvale": "en"}) == set()


def test_spelling_words_follow_rewrites(write_testimony, index_dir):
    """Rewritten segments get the spelling words of their live documents, no more, no less."""
    write_testimony("t1", "The harvest came late that autumn.\n")
    write_testimony("t2", "Nobody spoke of the blacksmith.\n")
    config = config_for(write_testimony.directory, index_dir)
    build_index(config)
    for i in range(3):  # additions, each folding the small segment into a new one
        write_testimony(f"n{i}", f"Another account, number {i}.\n")
        build_index(config)
    write_testimony("t2", "Nobody spoke of it.\n")  # "blacksmith" withdrawn
    assert build_index(config).withdrawn == 1
    with open_index(config.public_index) as handle, handle.searcher() as s:
        corrector = s.corrector("spell_text_en")
        assert corrector.suggest("harvst") == ["harvest"]
        assert corrector.suggest("acount") == ["account"]
        assert "blacksmith" not in corrector.suggest("blacksmit", maxdist=2)
        words = set(handle.reader.lexicon("spell_text_en"))
        assert b"blacksmith" not in words and b"harvest" in words


def test_an_ended_embargo_rebuilds_the_index(write_testimony, index_dir):
    write_testimony("open", "An open account.\n")
    write_testimony(
        "sealed", "Sealed until summer.\n", status="embargoed", publish_after="2025-06-30"
    )
    before = config_for(write_testimony.directory, index_dir, today=dt.date(2025, 6, 30))
    report = build_index(before)
    assert (report.testimonies, report.withheld) == (1, 1)
    assert build_index(before).mode == "unchanged"

    after = config_for(write_testimony.directory, index_dir, today=dt.date(2025, 7, 1))
    report = build_index(after)
    assert (report.mode, report.reason) == ("full", "an embargo decision changed")
    assert report.added == 1
    with open_index(after.public_index) as handle:
        assert len(search_keys(handle, "text_en", "sealed")) == 1

    # Judged again as of an earlier day (a preview), the embargo holds again.
    report = build_index(before)
    assert (report.mode, report.removed) == ("full", 1)
    assert found_in_files(before.public_index, {"sealed": "en"}) == set()


def test_a_changed_vocabulary_rebuilds_the_index(write_testimony, index_dir):
    write_testimony("t1", 'About furlough.\n{: themes="furlough" }\n')
    config = config_for(write_testimony.directory, index_dir)
    build_index(config)
    default = (Path(index_module.__file__).parent / "data" / "themes.yaml").read_text()
    vocabulary = write_testimony.directory / "themes.yaml"
    vocabulary.write_text(default.replace("broader: legal-routes", "broader: null", 1))
    report = build_index(config)
    assert (report.mode, report.reason) == ("full", "the themes vocabulary changed")

    vocabulary.write_text("themes: [")
    with pytest.raises(ValidationErrors):
        build_index(config)


def test_files_with_errors_are_skipped_and_reported(write_testimony, index_dir):
    write_testimony("good", "A good account.\n")
    bad = write_testimony("bad", "Text.\n", colour="blue")
    result = run_cli(
        "--testimonies", str(write_testimony.directory), "--index", str(index_dir), "index"
    )  # fmt: skip
    assert result.returncode == 1
    assert re.search(rf"^{re.escape(str(bad))}:\d+: unknown key 'colour'", result.stderr, re.M)
    assert "public index rebuilt (no index yet): 1 testimonies" in result.stdout
    config = config_for(write_testimony.directory, index_dir)
    with open_index(config.public_index) as handle:
        assert len(search_keys(handle, "text_en", "good")) == 1

    # Still reported on every run, until fixed; --json carries the same.
    result = run_cli(
        "--testimonies", str(write_testimony.directory), "--index", str(index_dir), "index",
        "--json",
    )  # fmt: skip
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["mode"] == "unchanged"
    assert [e["path"] for e in data["errors"]] == [str(bad)]

    write_testimony("bad", "Text, fixed.\n")
    report = build_index(config)
    assert (report.mode, report.added, report.errors) == ("incremental", 1, [])


def test_a_loaded_archive_can_be_indexed(write_testimony, index_dir):
    from archive.parse import load_archive

    write_testimony("t1", "From a loaded archive.\n")
    write_testimony("t2", "Restricted.\n", status="restricted")
    config = config_for(write_testimony.directory, index_dir)
    report = build_index(config, load_archive(write_testimony.directory))
    assert (report.testimonies, report.withheld) == (1, 1)
    write_testimony("t1", "From a loaded archive, edited.\n")
    report = build_index(config, load_archive(write_testimony.directory))
    assert (report.mode, report.updated) == ("incremental", 1)


def test_the_private_index_is_built_only_on_request(write_testimony, index_dir):
    write_testimony("t1", "Public.\n")
    config = config_for(write_testimony.directory, index_dir)
    report = build_index(config)
    assert report.private is None and not config.private_index.exists()
    result = run_cli(
        "--testimonies", str(write_testimony.directory), "--index", str(index_dir), "index",
        "--include-restricted",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "private index rebuilt" in result.stdout
    assert current_generation(config.private_index) is not None
    assert config.private_index.stat().st_mode & 0o777 == 0o700  # no one else reads it


# --- readers -----------------------------------------------------------------------


def test_open_index_explains_a_missing_index(tmp_path):
    with pytest.raises(IndexError_) as caught:
        open_index(tmp_path / "nowhere")
    assert "run 'archive index'" in str(caught.value)


def test_ensure_index_builds_only_when_missing(write_testimony, index_dir):
    write_testimony("t1", "Served on first start.\n")
    config = config_for(write_testimony.directory, index_dir)
    report = ensure_index(config)
    assert report is not None and report.mode == "full"
    assert ensure_index(config) is None


@pytest.mark.parametrize("full", [False, True])
def test_a_reader_keeps_working_across_a_swap(write_testimony, index_dir, full):
    write_testimony("t1", "The mill by the river.\n")
    write_testimony("t2", "The ferry across the river.\n")
    config = config_for(write_testimony.directory, index_dir)
    build_index(config)
    handle = open_index(config.public_index)
    assert len(search_keys(handle, "text_en", "river")) == 2
    assert not handle.is_stale()

    write_testimony("t2", "The bridge.\n")  # withdraws "ferry": the old generation is deleted
    build_index(config, full=full)
    assert handle.is_stale()
    assert not handle.directory.exists()
    assert len(search_keys(handle, "text_en", "river")) == 2  # still reads the old files
    with handle.searcher() as s:
        assert s.corrector("spell_text_en").suggest("rivr") == ["river"]
    handle.close()

    with open_index(config.public_index) as fresh:
        assert not fresh.is_stale()
        assert len(search_keys(fresh, "text_en", "river")) == 1


def test_a_threaded_caller_builds_with_worker_processes(write_testimony, index_dir, monkeypatch):
    """A web server (threads alive) gets forkserver workers; the result is the same."""
    import threading

    monkeypatch.setattr(index_module, "INLINE_BYTES", 0)
    for i in range(6):
        write_testimony(f"t{i}", f"Account {i} of the flood.\n")
    config = config_for(write_testimony.directory, index_dir)
    done = threading.Event()
    server = threading.Thread(target=done.wait)
    server.start()
    result = {}
    builder = threading.Thread(target=lambda: result.update(report=ensure_index(config)))
    builder.start()
    builder.join(timeout=120)
    done.set()
    server.join()
    report = result["report"]
    assert report.segments == min(2, index_module._worker_count())
    with open_index(config.public_index) as handle:
        assert len(search_keys(handle, "text_en", "flood")) == 6


# --- locking and crashes -----------------------------------------------------------


def test_a_second_writer_is_refused(write_testimony, index_dir):
    write_testimony("t1", "Text.\n")
    config = config_for(write_testimony.directory, index_dir)
    with index_module._writer_lock(config.public_index, timeout=0):
        with pytest.raises(IndexBusyError) as caught:
            build_index(config, lock_timeout=0.2)
        assert f"pid {os.getpid()}" in str(caught.value)
        result = run_cli(
            "--testimonies", str(write_testimony.directory), "--index", str(index_dir), "index"
        )  # fmt: skip
        assert result.returncode == 1
        assert "another 'archive index'" in result.stderr
    assert build_index(config).mode == "full"  # free again once the holder is gone


def test_a_second_writer_waits_briefly(write_testimony, index_dir):
    write_testimony("t1", "Text.\n")
    config = config_for(write_testimony.directory, index_dir)
    code = (
        "import sys, time; from pathlib import Path; from archive.index import _writer_lock\n"
        "with _writer_lock(Path(sys.argv[1]), 0):\n"
        "    print('locked', flush=True); time.sleep(0.7)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(config.public_index)], stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        report = build_index(config, lock_timeout=10)
        assert report.mode == "full" and time.monotonic() - started >= 0.3
        assert holder.wait(timeout=10) == 0


def test_leftovers_of_a_crash_are_cleaned_up(write_testimony, index_dir):
    write_testimony("t1", "Text.\n")
    config = config_for(write_testimony.directory, index_dir)
    live = build_index(config).generation
    public = config.public_index
    (public / "tmp-000007-99999").mkdir()
    (public / "tmp-000007-99999" / "MAIN_x.seg").write_bytes(b"half written")
    (public / "gen-000005").mkdir()  # complete, but CURRENT never pointed at it
    (public / "CURRENT.tmp").write_text("gen-000005\n")
    assert current_generation(public) == live.name

    report = build_index(config)
    assert report.mode == "unchanged"
    assert sorted(p.name for p in public.iterdir()) == ["CURRENT", "LOCK", live.name]


def _kill_full_build_at(small_corpus_dir: Path, index_dir: Path, delays: list[float]) -> None:
    env = {"ARCHIVE_TESTIMONIES": str(small_corpus_dir), "ARCHIVE_INDEX": str(index_dir)}
    first = run_cli("index", env=env)
    assert first.returncode == 0, first.stderr
    public = index_dir / "public"
    for delay in delays:
        before = current_generation(public)
        process = subprocess.Popen(
            [sys.executable, "-m", "archive", "index", "--full"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        # Whatever the moment, a complete generation serves.
        live = current_generation(public)
        assert live is not None and (live == before or int(live[4:]) > int(before[4:]))
        with open_index(public) as handle:
            assert handle.doc_count > 3000
            assert len(search_keys(handle, "text_en", "cotton")) > 100
        recovery = run_cli("index", env=env)
        assert recovery.returncode == 0, recovery.stderr
        names = {p.name for p in public.iterdir()}
        assert not [n for n in names if n.startswith("tmp-")]
        manifest = json.loads((public / current_generation(public) / "manifest.json").read_text())
        assert {n for n in names if n.startswith("gen-")} <= {
            current_generation(public),
            manifest["previous"],
        }
        with open_index(public) as handle:
            assert handle.doc_count > 3000
        assert not _processes_with(f"ARCHIVE_INDEX={index_dir}")  # no orphaned workers


def _processes_with(variable: str) -> list[int]:
    """Processes (of this user) whose environment holds ``variable``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if variable.encode() in environ:
                found.append(int(entry.name))
    return found


def test_a_killed_full_build_leaves_the_old_index_serving(small_corpus_dir, index_dir):
    _kill_full_build_at(small_corpus_dir, index_dir, [0.3, 1.5])


@pytest.mark.slow
def test_killed_at_many_moments(small_corpus_dir, index_dir):
    _kill_full_build_at(small_corpus_dir, index_dir, [0.1, 0.5, 1.0, 2.0, 3.0, 4.5, 6.0, 9.0])


def test_view_reader_reads_like_a_file_without_copying_the_whole():
    data = b"line one\nline two\n" + pickle.dumps({"a": [1, 2, 3]}, protocol=0) + b"x" * 10_000
    reader = _ViewReader(memoryview(data))
    assert reader.readline() == b"line one\n" and reader.readline() == b"line two\n"
    assert pickle.load(reader) == {"a": [1, 2, 3]}  # noqa: S301 - our own bytes
    assert reader.readline() == b"x" * 10_000 and reader.readline() == b""
    reader.seek(-3, os.SEEK_END)
    assert reader.read() == b"xxx" and reader.read(5) == b""
    reader.seek(0)
    assert reader.read(4) == b"line" and reader.tell() == 4
    reader.seek(1, os.SEEK_CUR)
    assert reader.readline(3) == b"one"


def test_index_files_are_mapped_not_copied(write_testimony, index_dir):
    write_testimony("mapped", "The river was cold.\n\nThe mill stood by the river.\n")
    config = config_for(write_testimony.directory, index_dir)
    build_index(config)
    with open_index(config.public_index) as handle:
        # Separate segment files: Whoosh copies each part of a compound file into memory.
        assert not list(handle.directory.glob("*.seg"))
        assert isinstance(handle.index.storage, MappedStorage)
        [leaf] = [r for r, _ in handle.reader.leaf_readers()]
        assert isinstance(leaf._terms._dbfile, _MappedFile)
        assert len(search_keys(handle, "text_en", "river")) == 2


def _stored_and_postings(config) -> list[tuple[str, bool, int]]:
    """Per segment: its codec, whether its stored text is plain, its posting blocks' zlib level."""
    found = []
    with open_index(config.public_index) as handle:
        for leaf, _ in handle.reader.leaf_readers():
            postings = leaf.postings("text_en", "river")
            assert type(postings).__name__ == "W3LeafMatcher"  # a block, not inlined
            column = handle.directory / f"{leaf.segment().make_filename('._stored.col')}"
            plain = b"river" in column.read_bytes()
            found.append((type(leaf.codec()).__name__, plain, postings._compression))
            assert all("river" in f["text"] for _, f in leaf.iter_docs())
    return found


def test_postings_and_stored_fields_are_written_without_zlib(write_testimony, index_dir):
    """Full builds and updates alike: a search inflates no posting block and no hit's fields."""
    write_testimony("one", "The river was cold.\n\nThe mill stood by the river.\n")
    config = config_for(write_testimony.directory, index_dir)
    assert build_index(config, full=True).mode == "full"
    assert _stored_and_postings(config) == [("ArchiveCodec", True, 0)]
    write_testimony("two", "A river again.\n\nAnd the river once more.\n")
    assert build_index(config).mode == "incremental"
    assert _stored_and_postings(config) == [("ArchiveCodec", True, 0)]


def test_segments_in_whooshs_own_format_still_read(write_testimony, index_dir, monkeypatch):
    """Segments in Whoosh's own format (zlib everywhere) read beside the archive's own:
    each segment names the codec it was written with."""
    from whoosh.codec.whoosh3 import W3Codec

    monkeypatch.setattr(index_module, "SMALL_SEGMENT_DOCS", 0)  # keep the old segment
    write_testimony("one", "The river was cold.\n\nThe mill stood by the river.\n")
    config = config_for(write_testimony.directory, index_dir)
    with monkeypatch.context() as m:
        m.setattr(index_module, "ArchiveCodec", W3Codec)
        build_index(config, full=True)
    assert _stored_and_postings(config) == [("W3Codec", False, 3)]
    write_testimony("two", "A river again.\n\nAnd the river once more.\n")
    assert build_index(config).mode == "incremental"
    assert sorted(_stored_and_postings(config)) == [
        ("ArchiveCodec", True, 0),
        ("W3Codec", False, 3),
    ]
    hits = search(config.public_index, "river", per_page=10).hits
    assert sorted(h.testimony for h in hits) == ["one", "one", "two", "two"]


def test_rewritten_segments_keep_each_passages_terms_without_analysing_it_again(
    write_testimony, index_dir, monkeypatch
):
    """A withdrawal rewrites segments from what they hold: every document keeps its terms
    and offsets columns (phrases and highlights read them), and only new text is analysed."""
    from archive.analysis import analyze_spans

    monkeypatch.setattr(index_module, "SMALL_SEGMENT_DOCS", 0)
    for name in ["t0", "t2"] + [f"f{i}" for i in range(10)]:
        write_testimony(name, f"Passage of {name} about the old quarry road.\n\nAnd the mill.\n")
    config = config_for(write_testimony.directory, index_dir)
    build_index(config)
    for name in ("t1", "t3"):  # one addition: both in one new segment
        write_testimony(name, f"Passage of {name} about the old quarry road.\n\nAnd the mill.\n")
    assert build_index(config).added == 2
    analysed: list[str] = []

    def counting(text, language):
        analysed.append(text)
        return analyze_spans(text, language)

    monkeypatch.setattr(index_module, "analyze_spans", counting)
    write_testimony("t1", "Passage of t1 about the gravel pit.\n")  # t3 is rewritten
    report = build_index(config)
    assert report.withdrawn == 1 and report.mode == "incremental"
    assert analysed == ["Passage of t1 about the gravel pit."]
    with open_index(config.public_index) as handle, handle.searcher() as s:
        reader = s.reader()
        runs = reader.column_reader("terms", translate=False)
        spans = reader.column_reader("term_offsets", translate=False)
        seen = 0
        for docnum, fields in reader.iter_docs():
            terms, offsets = analyze_spans(fields["text"], fields["language"])
            assert unpack_terms(runs[docnum]) == terms
            assert list(unpack_offsets(spans[docnum])) == offsets
            seen += 1
        assert seen == 2 * 13 + 1
    hits = search(config.public_index, '"the old quarry road"', per_page=50).hits
    assert sorted(h.testimony for h in hits) == sorted(
        ["t0", "t2", "t3"] + [f"f{i}" for i in range(10)]
    )
    assert all("<mark>the old quarry road</mark>" in h.snippet for h in hits), hits[0].snippet
