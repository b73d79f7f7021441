"""Record two sample testimonies with a synthetic voice (espeak-ng), once; the results are committed.

    python scripts/make_sample_audio.py            # needs Debian's espeak-ng

For each sample it reads a few passages (the first question and every passage with a
redaction, redacted words included: the archive's published copy must silence them),
word by word, so every word's start and end are known exactly; writes the recording
``testimonies/recordings/<id>.ogg`` (Opus, mono, low bitrate), the word-time sidecar
``testimonies/<id>.words.json``, and the time codes (``t="..."``) and ``media:`` line into
the testimony file. Run again, it replaces what it wrote before. Tests and CI never run it:
they use the committed files.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from array import array
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.media import _speaker_cut, format_seconds, sidecar_path  # noqa: E402
from archive.parse import parse_file  # noqa: E402

TESTIMONIES = ROOT / "testimonies"
#: Sample id -> espeak-ng voice.
SAMPLES = {"officer-left-unit-2023": "en", "mother-son-left-unit-2024": "ru"}
RATE = 22050  # what espeak-ng writes
SPEED = 205  # words per minute
WORD_GAP, PHRASE_GAP, PASSAGE_GAP, EDGE = 0.04, 0.22, 0.6, 0.12
BITRATE = 16000
SOURCE_NOTE = {
    "en": " The recording is a synthetic voice (espeak-ng) reading some passages.",
    "ru": "; запись — синтезированный голос (espeak-ng), читающий несколько отрывков",
}


def speak(word: str, voice: str) -> array:
    """One word as 16-bit samples, its leading and trailing silence cut."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(SPEED), "--stdout", word],
        check=True,
        capture_output=True,
    ).stdout
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        tmp.write(wav)
        tmp.flush()
        samples = array("h")
        with av.open(tmp.name) as container:
            for frame in container.decode(audio=0):
                samples.frombytes(bytes(frame.planes[0])[: 2 * frame.samples])
    loud = [i for i, s in enumerate(samples) if abs(s) > 400]
    return samples[loud[0] : loud[-1] + 1] if loud else array("h")


def encode(samples: array, out: Path) -> None:
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(samples))
    frame.planes[0].update(samples.tobytes())
    frame.sample_rate = RATE
    frame.pts = 0
    resampler = av.AudioResampler(format="flt", layout="mono", rate=48000)
    with av.open(str(out), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        stream.bit_rate = BITRATE
        for part in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(part):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def record(testimony_id: str, voice: str) -> None:
    path = TESTIMONIES / f"{testimony_id}.md"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r' t="[^"]*"', "", text)  # a rerun replaces the old time codes
    text = re.sub(r"\n\{: \}\n", "\n", text)
    text = re.sub(r"^media: .*\n", "", text, flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")
    testimony = parse_file(path)
    chosen = [testimony.passages[0]] + [p for p in testimony.passages[1:] if p.has_redactions]

    samples = array("h")
    entries, spans = [], {}
    for passage in chosen:
        cut = _speaker_cut(passage)  # after "Name:"
        words = []
        start = len(samples) / RATE
        samples.extend(array("h", bytes(2 * int(EDGE * RATE))))
        for piece in passage.text[cut:].split():
            if not re.search(r"\w", piece):
                continue
            at = len(samples) / RATE
            samples.extend(speak(piece, voice))
            words.append({"w": piece, "start": round(at, 3), "end": round(len(samples) / RATE, 3)})
            gap = PHRASE_GAP if piece[-1] in '.,;:!?»"' else WORD_GAP
            samples.extend(array("h", bytes(2 * int(gap * RATE))))
        samples.extend(array("h", bytes(2 * int(EDGE * RATE))))
        span = f"{format_seconds(start)}-{format_seconds(round(len(samples) / RATE, 3))}"
        spans[passage.id] = span
        entries.append({"t": span, "words": words})
        samples.extend(array("h", bytes(2 * int(PASSAGE_GAP * RATE))))

    media = f"recordings/{testimony_id}.ogg"
    (TESTIMONIES / "recordings").mkdir(exist_ok=True)
    encode(samples, TESTIMONIES / media)
    sidecar = {"version": 1, "passages": entries}
    sidecar_path(path, testimony_id).write_text(
        json.dumps(sidecar, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )

    lines = text.split("\n")
    for passage in sorted(chosen, key=lambda p: -p.line):
        attr = f't="{spans[passage.id]}"'
        if passage.attr_line:
            i = passage.attr_line - 1
            lines[i] = re.sub(r"\s*\}\s*$", f" {attr} }}", lines[i])
        else:
            lines.insert(passage.line, f"{{: {attr} }}")
    text = "\n".join(lines)
    text = re.sub(r'^(source: ".*)"$', lambda m: m.group(1) + SOURCE_NOTE[voice] + '"', text,
                  count=1, flags=re.MULTILINE) if SOURCE_NOTE[voice] not in text else text  # fmt: skip
    text = re.sub(r"^(source: .*\n)", rf"\1media: {media}\n", text, count=1, flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")
    parse_file(path)  # the result must be a valid testimony
    size = (TESTIMONIES / media).stat().st_size
    print(f"{media}: {len(samples) / RATE:.1f} s, {size} bytes, {len(chosen)} passages")


if __name__ == "__main__":
    for sample, voice in SAMPLES.items():
        record(sample, voice)
