"""``archive import``: each format from small hand-written files, checked by ``validate``."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from media_helpers import write_silence

from archive.cli import main
from archive.importers.build import escape_markdown
from archive.model import TimeSpan
from archive.parse import parse_file, parse_text

DATA = Path(__file__).parent / "data" / "import"


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "archive"
    directory.mkdir()
    return directory


def run(archive_dir: Path, *args: str):
    return CliRunner().invoke(main, ["--testimonies", str(archive_dir), "import", *args])


def imported(archive_dir: Path, source: Path, *args: str):
    result = run(archive_dir, str(source), *args)
    assert result.exit_code == 0, result.output
    path = archive_dir / f"{args[args.index('--id') + 1] if '--id' in args else source.stem}.md"
    check = CliRunner().invoke(main, ["--testimonies", str(archive_dir), "validate"])
    assert check.exit_code == 0, check.output
    testimony = parse_file(path)
    assert testimony.status == "restricted"
    return testimony, result


def test_webvtt_voices_pauses_overlap_and_order(archive_dir):
    t, result = imported(archive_dir, DATA / "interview.vtt", "--id", "oksana-2024")
    # cue 3 overlaps cue 2 and comes last in the file; 1.5 s of silence is no pause
    assert [(p.speaker, p.time) for p in t.passages] == [
        ("Interviewer", TimeSpan(0.5, 2.0)),
        ("Oksana", TimeSpan(2.2, 8.0)),
    ]
    assert t.passages[1].text.startswith("Oksana: After the second refusal. Nobody went home")
    assert "out of time order" in result.output


def test_webvtt_pause_splits_a_turn(archive_dir, tmp_path):
    source = tmp_path / "pause.vtt"
    source.write_text("WEBVTT\n\n00:01.000 --> 00:02.000\nFirst.\n\n"
                      "00:02.500 --> 00:03.000\nSecond.\n\n00:05.000 --> 00:06.000\nThird.\n")  # fmt: skip
    t, _ = imported(archive_dir, source)
    assert [(p.text, p.time) for p in t.passages] == [
        ("First. Second.", TimeSpan(1.0, 3.0)),
        ("Third.", TimeSpan(5.0, 6.0)),  # 2 s of silence: a new passage
    ]


def test_srt_speaker_prefixes_and_markdown_characters_stay_text(archive_dir):
    t, _ = imported(archive_dir, DATA / "interview.srt")
    assert [p.speaker for p in t.passages] == ["Q", "A", None]
    assert t.passages[1].text == "A: Near the river, with a *small* unit."
    assert t.passages[2].text == "We kept {quiet} about it."
    assert t.passages[0].time == TimeSpan(1.0, 2.5)


def test_whisperx_speakers_words_and_sidecar(archive_dir):
    write_silence(archive_dir / "checkpoint.wav", seconds=6.0)
    t, _ = imported(archive_dir, DATA / "whisperx.json", "--media", "checkpoint.wav")
    assert t.media == ("checkpoint.wav",)
    assert [(p.speaker, p.time) for p in t.passages] == [
        ("SPEAKER_00", TimeSpan(0.0, 1.8)),
        ("SPEAKER_01", TimeSpan(2.0, 5.5)),
    ]
    sidecar = json.loads((archive_dir / "whisperx.words.json").read_text(encoding="utf-8"))
    entry = sidecar["passages"][1]
    assert entry["t"] == "00:00:02-00:00:05.5"
    # "40" had no time of its own: it takes the gap between its neighbours
    assert {"w": "40", "start": 2.6, "end": 3.0} in entry["words"]
    assert [w["w"] for w in entry["words"]][-2:] == ["us", "pass."]


def test_whisper_recording_shorter_than_the_transcript_is_refused(archive_dir):
    write_silence(archive_dir / "short.wav", seconds=2.0)
    result = run(archive_dir, str(DATA / "whisperx.json"), "--media", "short.wav")
    assert result.exit_code == 1 and "after the end of the recording" in result.output
    assert not (archive_dir / "whisperx.md").exists()


def test_ohms_transcript_sync_index_headings_and_suggestions(archive_dir):
    t, result = imported(archive_dir, DATA / "ohms.xml", "--id", "medic-road")
    assert t.title == "A medic on the evacuation road" and t.language == "en"
    assert [p.time for p in t.passages] == [
        TimeSpan(0.0, 60.0),
        TimeSpan(60.0, 120.0),
        TimeSpan(120.0, 180.0),
    ]
    assert [b.html for b in t.blocks if b.tag == "h2"] == ["Evacuation at night"]
    assert not t.all_themes  # keywords are suggestions, never themes
    assert "theme suggestion" in result.output and "hospital; night crossing" in result.output


def test_docx_paragraphs_title_and_speakers(archive_dir, tmp_path):
    document = docx.Document()
    document.add_paragraph("The ferry crossing", style="Title")
    document.add_paragraph("Q: How did you cross?")
    document.add_paragraph("")
    document.add_paragraph("Marta: By the night ferry, with # and [brackets] kept as text.")
    source = tmp_path / "ferry.docx"
    document.save(source)
    t, _ = imported(archive_dir, source)
    assert t.title == "The ferry crossing"
    assert [(p.speaker, p.time) for p in t.passages] == [("Q", None), ("Marta", None)]
    assert t.passages[1].text.endswith("with # and [brackets] kept as text.")


def test_plain_text_turns_and_paragraphs(archive_dir):
    t, _ = imported(archive_dir, DATA / "notes.txt", "--language", "en")
    assert [p.text for p in t.passages] == [
        "Q: Did you leave with papers?",
        "A: No. I had only my passport and a bus ticket.",
        "Later the letter came.",
    ]


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("malformed.vtt", 6, "malformed cue timing"),
        ("malformed.srt", 6, "malformed cue timing"),
        ("malformed.json", 4, "numeric start and end"),
        ("malformed.xml", 5, "not well-formed XML"),
    ],
)
def test_malformed_input_is_one_error_with_its_line(archive_dir, name, line, words):
    result = run(archive_dir, str(DATA / name), str(DATA / "notes.txt"))
    assert result.exit_code == 1
    errors = [x for x in result.output.splitlines() if str(DATA / name) in x]
    assert len(errors) == 1 and f"{name}:{line}: " in errors[0] and words in errors[0]
    assert (archive_dir / "notes.md").exists()  # one bad file never stops the others
    assert not (archive_dir / f"{Path(name).stem}.md").exists()


def test_broken_docx_is_one_clear_error(archive_dir, tmp_path):
    source = tmp_path / "broken.docx"
    source.write_bytes(b"PK\x03\x04 not really a zip")
    result = run(archive_dir, str(source))
    assert result.exit_code == 1 and "not a Word .docx file" in result.output


def test_never_overwrites_and_dry_run_writes_nothing(archive_dir, tmp_path):
    result = run(archive_dir, str(DATA / "notes.txt"), "--dry-run")
    assert result.exit_code == 0 and "status: restricted" in result.output
    assert list(archive_dir.iterdir()) == []
    assert run(archive_dir, str(DATA / "notes.txt")).exit_code == 0
    before = (archive_dir / "notes.md").read_bytes()
    again = run(archive_dir, str(DATA / "notes.txt"))
    assert again.exit_code == 1 and "never overwrites" in again.output
    assert (archive_dir / "notes.md").read_bytes() == before


def test_sidecar_of_an_import_survives_an_editor_redaction(archive_dir):
    """The editor later redacts a word: validate still passes, and only its time is muted."""
    write_silence(archive_dir / "checkpoint.wav", seconds=6.0)
    imported(archive_dir, DATA / "whisperx.json", "--media", "checkpoint.wav")
    path = archive_dir / "whisperx.md"
    text = path.read_text(encoding="utf-8").replace(
        "waited 40 minutes", "waited [40]{.redact} minutes"
    )
    path.write_text(text, encoding="utf-8")
    from archive.media import load_sidecar, silence_ranges

    testimony = parse_file(path)
    ranges = silence_ranges(testimony, load_sidecar(archive_dir / "whisperx.words.json"))
    assert ranges == [TimeSpan(2.6, 3.0)]


@pytest.mark.parametrize(
    "words",
    [
        "# not a heading",
        "1. not a list",
        "> not a quote",
        "- not an item",
        "a <b>tag</b> &amp; an entity",
        "`code` *em* _u_ [link](x) {quiet} \\ back",
    ],  # fmt: skip
)
def test_escaped_words_render_back_to_themselves(words):
    body = escape_markdown(words)
    t = parse_text(f"---\nid: x\ntitle: X\n---\n\n{body}\n", "x.md")
    assert [p.text for p in t.passages] == [words] and not t.passages[0].redactions
