"""Redaction reaches the recording: muted copies, the export's silence check, the leak check."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from array import array
from pathlib import Path

import av
import pytest
from helpers import make_app

from archive.config import resolve_config
from archive.errors import ExportError
from archive.muting import (
    SILENCE_DBFS,
    cache_key,
    derive_muted,
    file_digest,
    range_levels,
    ranges_for,
)
from archive.muting import (
    testimony_ranges as silenced,
)
from archive.parse import parse_file
from webapp.publish.export import export_site

NOW = dt.date(2025, 6, 1)
SAMPLES = Path(__file__).resolve().parent.parent / "testimonies"


def write_tone(path: Path, seconds: float = 4.0, rate: int = 16000) -> Path:
    """A loud 440 Hz tone from start to end: every range of it is audible."""
    n = int(seconds * rate)
    data = array("h", (int(12000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(n)))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame(format="s16", layout="mono", samples=n)
        frame.planes[0].update(data.tobytes())
        frame.sample_rate, frame.pts = rate, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


BODY = """**Ann:** I left [Petrovka]{.redact} at dawn.
{: t="0.5-2.5" }

**Ann:** Then I walked home.
{: t="2.5-3.9" }
"""
WORDS = [["I", 0.5, 0.8], ["left", 0.8, 1.1], ["Petrovka", 1.1, 1.8], ["at", 1.8, 2.0],
         ["dawn.", 2.0, 2.5]]  # fmt: skip


@pytest.fixture
def toned(tmp_path):
    directory = tmp_path / "testimonies"
    directory.mkdir()
    write_tone(directory / "tone.wav")
    (directory / "t1.md").write_text(
        '---\nid: t1\ntitle: "Tone"\nlanguage: en\nstatus: public\nmedia: tone.wav\n---\n\n' + BODY,
        encoding="utf-8",
    )
    sidecar = {"version": 1, "passages": [{"t": "0.5-2.5", "words": [
        {"w": w, "start": s, "end": e} for w, s, e in WORDS]}]}  # fmt: skip
    (directory / "t1.words.json").write_text(json.dumps(sidecar), encoding="utf-8")
    shutil.copy(directory / "tone.wav", directory / "secret.wav")
    (directory / "r1.md").write_text(
        '---\nid: r1\ntitle: "Restricted"\nlanguage: en\nstatus: restricted\n'
        'media: secret.wav\n---\n\n**Ann:** Hidden words.\n{: t="0-1" }\n',
        encoding="utf-8",
    )
    return directory, resolve_config(testimonies=directory, index=tmp_path / "index")


def test_a_muted_copy_is_silent_only_where_redacted(tmp_path):
    tone = write_tone(tmp_path / "tone.wav")
    out = tmp_path / "copy.ogg"
    derive_muted(tone, [(1.1, 1.8)], out)
    inside, before, after = range_levels(out, [(1.1, 1.8), (0.2, 0.9), (2.1, 3.5)])
    assert inside < SILENCE_DBFS < before and after > SILENCE_DBFS
    assert range_levels(tone, [(1.1, 1.8)])[0] > SILENCE_DBFS  # the original is loud there


def test_the_export_accepts_the_muted_copy_and_refuses_an_unmuted_one(toned, tmp_path):
    directory, config = toned
    t = parse_file(directory / "t1.md")
    ranges = ranges_for(silenced(t), 1)
    assert ranges == [(1.1, 1.8)]  # the redacted word only, from the sidecar

    report = export_site(tmp_path / "site", config, now=NOW)
    published = tmp_path / "site" / "t" / "t1" / "media" / "1.ogg"
    assert range_levels(published, ranges)[0] < SILENCE_DBFS  # measured on the exported file
    assert range_levels(published, [(2.6, 3.8)])[0] > SILENCE_DBFS  # the rest is heard
    assert not (tmp_path / "site" / "t" / "r1").exists()
    assert "Leak check: passed" in report.summary()

    # Plant an unmuted copy where the cache keeps this recording's copy: refused.
    cached = config.media_cache / f"{cache_key(file_digest(directory / 'tone.wav'), ranges)}.ogg"
    assert cached.is_file()
    derive_muted(directory / "tone.wav", [], cached)
    with pytest.raises(ExportError, match="not silent where it must be"):
        export_site(tmp_path / "site2", config, now=NOW)
    assert not (tmp_path / "site2").exists()
    # The bad copy was dropped: the next export makes it again, muted.
    export_site(tmp_path / "site2", config, now=NOW)
    assert range_levels(tmp_path / "site2/t/t1/media/1.ogg", ranges)[0] < SILENCE_DBFS


def test_the_leak_check_refuses_originals_unpublished_and_unmuted_media(toned, tmp_path):
    from webapp.media import publish_all
    from webapp.publish.export import export_app, private_side, read_archive
    from webapp.publish.leakcheck import check_export

    directory, config = toned
    site = tmp_path / "site"
    export_site(site, config, now=NOW)
    archive = read_archive(config)
    media = publish_all(config, archive.public(NOW), [])
    app = export_app(config, archive, "http://localhost:8000/", NOW, media=media)
    private = private_side(app, archive, config, NOW, site)
    assert check_export(site, private).ok
    # An original under an innocent name, a restricted testimony's recording, an unmuted copy.
    shutil.copy(directory / "t1.words.json", site / "words.json")
    (site / "t" / "r1" / "media").mkdir(parents=True)
    derive_muted(directory / "secret.wav", [], site / "t" / "r1" / "media" / "1.ogg")
    derive_muted(directory / "tone.wav", [], site / "t" / "t1" / "media" / "1.ogg")
    leaks = {leak.file: str(leak) for leak in check_export(site, private).leaks}
    assert set(leaks) == {"words.json", "t/r1/media/1.ogg", "t/t1/media/1.ogg"}
    assert "a private file" in leaks["words.json"]
    assert "no published recording" in leaks["t/r1/media/1.ogg"]
    assert "audible redaction" in leaks["t/t1/media/1.ogg"]


def test_an_unreadable_recording_is_withheld_with_a_warning(toned):
    from webapp.media import publish_all

    directory, config = toned
    t = parse_file(directory / "t1.md")
    (directory / "tone.wav").write_bytes(b"not audio at all")  # changed after validation
    warnings: list[str] = []
    assert publish_all(config, [t], warnings) == {}
    assert len(warnings) == 1 and "withheld" in warnings[0]


def test_the_samples_published_audio_is_silent_where_redacted(tmp_path):
    directory = Path(shutil.copytree(SAMPLES, tmp_path / "testimonies"))
    config = resolve_config(testimonies=directory, index=tmp_path / "index")
    export_site(tmp_path / "site", config, now=NOW)
    sizes = 0
    for testimony_id in ("officer-left-unit-2023", "mother-son-left-unit-2024"):
        t = parse_file(directory / f"{testimony_id}.md")
        ranges = ranges_for(silenced(t), 1)
        assert any(p.redactions for p in t.passages if p.time) and ranges
        original = directory / t.media[0]
        sizes += original.stat().st_size
        published = tmp_path / "site" / "t" / testimony_id / "media" / "1.ogg"
        assert max(range_levels(published, ranges)) < SILENCE_DBFS
        assert min(range_levels(original, ranges)) > SILENCE_DBFS  # spoken in the original
        assert published.read_bytes() != original.read_bytes()
    assert sizes < 1_000_000


def test_search_hits_and_the_testimony_json_carry_times(tmp_path):
    from archive.index import build_index

    config = resolve_config(testimonies=SAMPLES, index=tmp_path / "index", today=NOW)
    build_index(config)
    client = make_app(SAMPLES, tmp_path / "index", today=NOW)
    client = client.test_client()
    hits = client.get("/search.json?q=племянник").get_json()["hits"]
    timed = [h for h in hits if h["passage"] == "hiding-at-aunt"]
    t = parse_file(SAMPLES / "mother-son-left-unit-2024.md")
    span = t.passage("hiding-at-aunt").time
    assert timed and (timed[0]["start"], timed[0]["end"]) == (span.start, span.end)
    page = client.get("/search/?q=племянник").get_data(as_text=True)
    assert '<span class="hit__time">at 00:25</span>' in page
    untimed = client.get("/search.json?q=commission").get_json()["hits"]
    assert untimed and all(h["start"] is None for h in untimed)
    data = client.get("/t/mother-son-left-unit-2024.json").get_json()
    assert data["testimony"]["media"] == [
        {
            "recording": 1,
            "url": "/t/mother-son-left-unit-2024/media/1.ogg",
            "media_type": "audio/ogg",
        }
    ]
    times = [p["time"] for b in data["blocks"] for p in b["passages"] if p["time"]]
    assert len(times) == 3 and times[2]["start"] == span.start
    assert "recordings/" not in json.dumps(data)  # the original's path is never shown
