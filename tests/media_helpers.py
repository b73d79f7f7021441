"""Real recordings for tests, made with PyAV (no fixture files to keep in the repository)."""

from __future__ import annotations

from pathlib import Path

import av


def write_silence(path: Path, seconds: float = 2.0, rate: int = 8000) -> Path:
    """A mono 16-bit WAV file of silence, ``seconds`` long."""
    samples = int(seconds * rate)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(bytes(2 * samples))
        frame.sample_rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
