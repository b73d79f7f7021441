"""Shared fixtures: every test gets its own copy of an archive on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "testimonies"
DATA = Path(__file__).resolve().parent / "data"
CORPUS = ROOT.parent / "shared" / "corpus"
WPA = CORPUS / "wpa"


def small_corpus_ids() -> list[str]:
    return [
        line.strip() for line in (CORPUS / "small.txt").read_text().splitlines() if line.strip()
    ]


@pytest.fixture
def samples_dir(tmp_path: Path) -> Path:
    """A fresh, writable copy of the bundled sample testimonies."""
    target = tmp_path / "testimonies"
    shutil.copytree(SAMPLES, target)
    return target


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def small_corpus_dir(tmp_path: Path) -> Path:
    """The 200-file subset of the shared corpus, copied so tests may index it."""
    if not WPA.is_dir():
        pytest.skip(f"shared corpus not found at {WPA}")
    target = tmp_path / "wpa-small"
    target.mkdir()
    for testimony_id in small_corpus_ids():
        shutil.copy(WPA / f"{testimony_id}.md", target)
    return target


@pytest.fixture
def write_testimony(tmp_path: Path):
    """Write a testimony file into a fresh archive directory; returns its path."""
    directory = tmp_path / "archive"
    directory.mkdir(exist_ok=True)

    def write(
        testimony_id: str = "t1",
        body: str = "**Q:** Where were you?\n\n**A:** At home.\n",
        **front: object,
    ) -> Path:
        # "status: public" takes the line of the default "language: en" (which the parser
        # assumes anyway), so line numbers stay as tests count them; status=None omits it.
        third = ("language", "en") if "status" in front else ("status", "public")
        meta = {"id": testimony_id, "title": f'"{testimony_id}"', third[0]: third[1]} | front
        lines = ["---", *(f"{k}: {v}" for k, v in meta.items() if v is not None), "---", "", ""]
        path = directory / f"{testimony_id}.md"
        path.write_text("\n".join(lines) + body, encoding="utf-8")
        return path

    write.directory = directory
    return write
