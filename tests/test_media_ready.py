"""Published recordings are ready before anyone asks, a copy still being made is a quick
503 (never a hang), and no path serves an original, a sidecar or a non-public recording."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import make_app
from test_muting import NOW, write_tone

from archive.cli import main
from archive.config import resolve_config
from archive.index import build_index
from archive.muting import cache_key, file_digest, ranges_for
from archive.muting import testimony_ranges as silenced
from archive.parse import parse_file
from webapp.media import MEDIA_WAIT, RETRY_AFTER_SECONDS, copy_maker
from webapp.publish.export import export_site

TODAY = NOW.isoformat()
BODY = """**Ann:** I left [Petrovka]{.redact} at dawn.
{: t="0.5-2.5" }

**Ann:** Then I walked home for a long time.
{: t="2.5-29" }
"""


@pytest.fixture
def archive_dir(tmp_path):
    """A public testimony with a 30 s recording (a few hundred ms to encode) and a
    restricted one with its own recording, beside a word-time sidecar."""
    directory = tmp_path / "testimonies"
    (directory / "rec").mkdir(parents=True)
    write_tone(directory / "rec" / "tone.wav", seconds=30)
    write_tone(directory / "rec" / "secret.wav", seconds=2)
    (directory / "t1.md").write_text(
        '---\nid: t1\ntitle: "Tone"\nlanguage: en\nstatus: public\nmedia: rec/tone.wav\n---\n\n'
        + BODY,
        encoding="utf-8",
    )
    (directory / "t1.words.json").write_text('{"version": 1, "passages": []}', encoding="utf-8")
    (directory / "r1.md").write_text(
        '---\nid: r1\ntitle: "Restricted"\nlanguage: en\nstatus: restricted\n'
        'media: rec/secret.wav\n---\n\n**Ann:** Hidden words.\n{: t="0-1" }\n',
        encoding="utf-8",
    )
    return directory


def _cached(directory: Path, index: Path) -> Path:
    t = parse_file(directory / "t1.md")
    key = cache_key(file_digest(directory / "rec" / "tone.wav"), ranges_for(silenced(t), 1))
    return resolve_config(testimonies=directory, index=index).media_cache / f"{key}.ogg"


def _get(client, path: str):
    """The response to ``path``, read and closed (a file response holds the file open)."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response


def _app(directory: Path, index: Path, **settings):
    build_index(resolve_config(testimonies=directory, index=index, today=TODAY))
    return make_app(directory, index, today=TODAY, **{MEDIA_WAIT: 0, **settings})


def test_archive_index_makes_the_published_copies(archive_dir, tmp_path):
    index = tmp_path / "index"
    done = CliRunner().invoke(
        main, ["--testimonies", str(archive_dir), "--index", str(index), "index"],
        env={"ARCHIVE_TODAY": TODAY},
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "1 published recording(s) ready" in done.output
    assert _cached(archive_dir, index).is_file()  # the public one, and only it
    assert len(list((index / "media").glob("*.ogg"))) == 1
    # So the server's first request for it only checks it (decodes it), never encodes it.
    made = _cached(archive_dir, index).stat().st_mtime_ns
    client = make_app(archive_dir, index, today=TODAY).test_client()
    response = _get(client, "/t/t1/media/1.ogg")
    assert response.status_code == 200 and response.data[:4] == b"OggS"
    assert _cached(archive_dir, index).stat().st_mtime_ns == made


def test_a_copy_not_made_yet_is_a_503_with_retry_after_then_served(archive_dir, tmp_path):
    client = _app(archive_dir, tmp_path / "index").test_client()
    started = time.monotonic()
    first = _get(client, "/t/t1/media/1.ogg")
    assert time.monotonic() - started < 2  # bounded: never waits for the encoder
    assert first.status_code == 503
    assert first.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "being prepared" in first.get_data(as_text=True)
    deadline = time.monotonic() + 60
    while (response := _get(client, "/t/t1/media/1.ogg")).status_code == 503:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert response.status_code == 200 and response.data[:4] == b"OggS"


def test_a_bounded_wait_serves_a_copy_made_within_it(archive_dir, tmp_path):
    client = _app(archive_dir, tmp_path / "index", **{MEDIA_WAIT: 60}).test_client()
    assert _get(client, "/t/t1/media/1.ogg").status_code == 200


def test_the_server_prepares_every_public_copy_before_it_is_asked(archive_dir, tmp_path):
    index = tmp_path / "index"
    app = _app(archive_dir, index)
    maker = copy_maker(app)
    maker.follow(app.extensions["archive"].current())  # what 'archive serve' does at start
    deadline = time.monotonic() + 60
    while not _cached(archive_dir, index).is_file():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # Verified too: served at once (the wait is 0), with no request having asked before.
    deadline = time.monotonic() + 30
    while (response := _get(app.test_client(), "/t/t1/media/1.ogg")).status_code == 503:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert response.status_code == 200
    assert len(list((index / "media").glob("*.ogg"))) == 1  # not the restricted one
    maker.stop()


def _source_files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*")
            if p.is_file()}  # fmt: skip


def test_no_path_serves_an_original_a_sidecar_or_a_non_public_recording(archive_dir, tmp_path):
    client = _app(archive_dir, tmp_path / "index", **{MEDIA_WAIT: 60}).test_client()
    sources = _source_files(archive_dir)
    tries = [
        "/t/r1/media/1.ogg", "/t/t1/media/2.ogg", "/t/t1/media/0.ogg", "/t/t1/media/-1.ogg",
        "/t/t1/media/1.wav", "/t/t1/media/1", "/t/t1/rec/tone.wav", "/rec/tone.wav",
        "/tone.wav", "/t1.words.json", "/t/t1.words.json", "/t/t1/t1.words.json",
        "/static/../rec/tone.wav", "/static/..%2frec%2ftone.wav", "/static/%2e%2e/t1.md",
        "/t/t1/media/../../../rec/tone.wav", "/t/t1/media/%2e%2e%2f%2e%2e%2frec%2ftone.wav",
        "/t/..%2f..%2frec%2fsecret.wav/media/1.ogg", "/t/r1/media/1.ogg?x=1",
        "/t/R1/media/1.ogg", "/t/r1%00/media/1.ogg", "/t/r1/media/01.ogg",
        "/static/tone.wav", "/static/t1.md", "/testimonies/rec/tone.wav",
    ]  # fmt: skip
    for path in tries:
        response = _get(client, path)
        assert response.status_code in (400, 404), (path, response.status_code)
        for name, raw in sources.items():
            assert raw[:64] not in response.data, (path, name)
    served = _get(client, "/t/t1/media/1.ogg")
    assert served.status_code == 200
    assert all(served.data != raw for raw in sources.values())


def test_the_export_holds_no_original_sidecar_or_non_public_recording(archive_dir, tmp_path):
    config = resolve_config(testimonies=archive_dir, index=tmp_path / "index")
    export_site(tmp_path / "site", config, now=NOW)
    digests = {hashlib.sha256(raw).hexdigest() for raw in _source_files(archive_dir).values()}
    written = [p for p in (tmp_path / "site").rglob("*") if p.is_file()]
    assert not [p for p in written if hashlib.sha256(p.read_bytes()).hexdigest() in digests]
    media = sorted(p.relative_to(tmp_path / "site").as_posix() for p in written
                   if p.suffix in (".ogg", ".wav", ".opus", ".mp3", ".m4a"))  # fmt: skip
    assert media == ["t/t1/media/1.ogg"]
    assert not [p for p in written if p.name.endswith(".words.json") or "r1" in p.parts]
