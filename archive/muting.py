"""Published copies of recordings: derived with every redacted range silent, and measured.

The originals named by ``media:`` are never published (see :mod:`archive.media`). A
published copy is decoded from the original with PyAV, mixed down to mono, every range of
:func:`archive.media.silence_ranges` (widened by :data:`PAD` seconds each side: word times
from a transcription tool are approximate) set to digital silence, and encoded to Opus in
Ogg at a low speech bitrate (:data:`ENCODER`).

Copies are cached by content: the key is a hash of the original's bytes, the silenced
ranges and the encoder settings, so a changed redaction or recording makes a new copy and
an unchanged one is never encoded twice (:func:`muted_copy`).

:func:`range_levels` decodes any media file and measures the RMS level of each range, in
dBFS; :func:`loud_ranges` is the check the server and the export's leak check apply to a
copy before anyone may hear it: every silenced range must stay under :data:`SILENCE_DBFS`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .model import Testimony, TimeSpan

__all__ = [
    "ENCODER",
    "MEDIA_SUFFIX",
    "MEDIA_TYPE",
    "PAD",
    "SILENCE_DBFS",
    "MediaUnreadable",
    "cache_key",
    "derive_muted",
    "file_digest",
    "loud_ranges",
    "muted_copy",
    "range_levels",
    "ranges_for",
    "testimony_ranges",
]

#: Seconds of extra silence on each side of a redacted range (word boundaries are imprecise).
PAD = 0.15
#: A silenced range is silent when its RMS level is below this (digital silence is -inf;
#: speech is typically -30 to -10 dBFS).
SILENCE_DBFS = -50.0
#: What every published copy is encoded with: part of the cache key.
ENCODER = {
    "codec": "libopus", "format": "ogg", "rate": 16000, "bitrate": 24000, "layout": "mono",
    "options": {"application": "voip", "compression_level": "4"},
}  # fmt: skip
MEDIA_SUFFIX = ".ogg"
MEDIA_TYPE = "audio/ogg"
#: Bump when the way copies are made changes (so cached copies are made again).
_RECIPE = 1


class MediaUnreadable(ValueError):
    """A media file PyAV cannot decode as audio."""


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ranges_for(spans: Iterable[TimeSpan], recording: int) -> list[tuple[float, float]]:
    """The (start, end) seconds of ``spans`` in recording number ``recording``."""
    return [(s.start, s.end) for s in spans if s.recording == recording]


def cache_key(digest: str, ranges: Sequence[tuple[float, float]], pad: float = PAD) -> str:
    """The content hash a copy is cached under: original, silenced ranges, encoder settings."""
    spec = {
        "original": digest,
        "ranges": [[round(a, 3), round(b, 3)] for a, b in ranges],
        "pad": pad,
        "encoder": ENCODER,
        "recipe": _RECIPE,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _open(path: Path):  # noqa: ANN202 - av's container type
    import av  # FFmpeg in a wheel: imported only when there are recordings

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaUnreadable(f"{path.name} cannot be read as media ({exc})") from None
    if not container.streams.audio:
        container.close()
        raise MediaUnreadable(f"{path.name} has no audio stream")
    return container


def _samples(frame) -> array:  # noqa: ANN001 - a packed mono "flt" av.AudioFrame
    return array("f", bytes(frame.planes[0])[: 4 * frame.samples])


def _mono_frames(path: Path, rate: int):  # noqa: ANN202 - yields (start sample, array of floats)
    """Decode the first audio stream as mono float samples at ``rate``, in order."""
    import av

    container = _open(path)
    try:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        position = 0
        try:
            frames = container.decode(container.streams.audio[0])
            for frame in frames:
                for out in resampler.resample(frame):
                    samples = _samples(out)
                    yield position, samples
                    position += len(samples)
            for out in resampler.resample(None):
                samples = _samples(out)
                yield position, samples
                position += len(samples)
        except (av.FFmpegError, ValueError) as exc:
            raise MediaUnreadable(f"{path.name} cannot be decoded ({exc})") from None
    finally:
        container.close()


def derive_muted(
    original: Path, ranges: Sequence[tuple[float, float]], out: Path, *, pad: float = PAD
) -> None:
    """Write ``out``: ``original`` as mono Opus with every range (widened by ``pad``) silent."""
    import av

    rate = ENCODER["rate"]
    cuts = [(max(0, int((a - pad) * rate)), int(math.ceil((b + pad) * rate))) for a, b in ranges]
    with av.open(str(out), "w", format=ENCODER["format"]) as container:
        stream = container.add_stream(ENCODER["codec"], rate=rate)
        stream.layout = ENCODER["layout"]
        stream.bit_rate = ENCODER["bitrate"]
        stream.options = dict(ENCODER["options"])
        for start, samples in _mono_frames(original, rate):
            end = start + len(samples)
            for a, b in cuts:
                if a < end and start < b:
                    lo, hi = max(a, start) - start, min(b, end) - start
                    samples[lo:hi] = array("f", bytes(4 * (hi - lo)))
            frame = av.AudioFrame(format="flt", layout="mono", samples=len(samples))
            frame.planes[0].update(samples.tobytes())
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def muted_copy(original: Path, ranges: Sequence[tuple[float, float]], cache_dir: Path) -> Path:
    """The published copy of ``original`` with ``ranges`` silent, made once per content hash."""
    key = cache_key(file_digest(original), ranges)
    target = cache_dir / f"{key}{MEDIA_SUFFIX}"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".muting-", suffix=MEDIA_SUFFIX, dir=cache_dir)
    os.close(fd)
    try:
        derive_muted(original, ranges, Path(tmp))
        os.replace(tmp, target)  # a reader never sees half a copy
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def range_levels(path: Path, ranges: Sequence[tuple[float, float]]) -> list[float]:
    """RMS level in dBFS of each (start, end) range of ``path`` (-inf for digital silence).

    A range past the end of the file measures what there is of it (nothing: -inf).
    """
    rate = 16000  # plenty to measure speech energy, cheap to decode into
    sums = [0.0] * len(ranges)
    counts = [0] * len(ranges)
    bounds = [(int(a * rate), int(math.ceil(b * rate))) for a, b in ranges]
    for start, samples in _mono_frames(path, rate):
        end = start + len(samples)
        for i, (a, b) in enumerate(bounds):
            if a < end and start < b:
                part = samples[max(a, start) - start : min(b, end) - start]
                sums[i] += math.fsum(x * x for x in part)
                counts[i] += len(part)
    levels = []
    for total, count in zip(sums, counts, strict=True):
        rms = math.sqrt(total / count) if count else 0.0
        levels.append(20 * math.log10(rms) if rms > 0 else -math.inf)
    return levels


@dataclass(frozen=True)
class LoudRange:
    start: float
    end: float
    dbfs: float

    def __str__(self) -> str:
        return f"{self.start:.2f}-{self.end:.2f} s at {self.dbfs:.1f} dBFS"


def loud_ranges(path: Path, ranges: Sequence[tuple[float, float]]) -> list[LoudRange]:
    """The ranges of ``path`` that are not silent (raises :class:`MediaUnreadable`)."""
    levels = range_levels(path, ranges)
    return [
        LoudRange(a, b, level)
        for (a, b), level in zip(ranges, levels, strict=True)
        if level >= SILENCE_DBFS
    ]


def testimony_ranges(testimony: Testimony) -> list[TimeSpan]:
    """:func:`archive.media.silence_ranges` with the testimony's sidecar, if it has one
    (one that cannot be read counts as none: every redacted passage's whole span is then
    silenced, more than needed, never less)."""
    from .errors import ValidationError
    from .media import load_sidecar, sidecar_path, silence_ranges

    side = sidecar_path(testimony.path, testimony.id)
    try:
        sidecar = load_sidecar(side) if side.is_file() else None
    except ValidationError:
        sidecar = None
    return silence_ranges(testimony, sidecar)
