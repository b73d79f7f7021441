"""One table of cases (``tests/data/status_cases.json``) for the two readers that judge
which testimonies are public: the archive's (:mod:`archive.model`, through
:func:`archive.parse.load_archive`) and the leak check's own (:mod:`archive.secrets`),
kept apart on purpose so that one bug cannot blind both. The table keeps them in step."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from archive.parse import load_archive
from archive.secrets import read_secrets

CASES = json.loads(
    (Path(__file__).resolve().parent / "data" / "status_cases.json").read_text(encoding="utf-8")
)["cases"]


def _write(directory: Path, files: dict[str, dict[str, str]]) -> None:
    directory.mkdir()
    for testimony_id, front in files.items():
        lines = ["---", f"id: {testimony_id}", f'title: "{testimony_id}"', "language: en"]
        lines += [f"{key}: {value}" for key, value in front.items()]
        lines += ["---", "", f"The words of {testimony_id}.", ""]
        (directory / f"{testimony_id}.md").write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_both_readers_agree_on_what_is_public(tmp_path, case):
    directory = tmp_path / "testimonies"
    _write(directory, case["files"])
    today = dt.date.fromisoformat(case["today"])
    expected = sorted(case["public"])

    archive = load_archive(directory)
    assert sorted(t.id for t in archive.public(today)) == expected, "archive.model"

    secrets = read_secrets(directory, today)
    assert secrets.files == len(case["files"])
    withheld = {Path(name).stem for name in secrets.non_public}
    assert sorted(set(case["files"]) - withheld) == expected, "archive.secrets"
