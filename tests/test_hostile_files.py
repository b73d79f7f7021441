"""One hostile file never stops the archive, and the export's guards refuse what they must.

Beside valid files: a FIFO, a link to /dev/zero, a link to a file outside the
directory, a device (where one can be made), a 3 MB file and invalid UTF-8. Each
gives one error naming its file; ``archive validate``, ``index`` and ``export``
(each a subprocess with a time limit) finish, and the valid files are indexed and
exported. Also: a base URL that is not a clean address is refused; ``--now`` after
today needs ``--preview``, which marks every page; and the mutation test of the
leak check: with the renderer's redaction switched off, the export refuses.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

import archive.parse
import archive.redaction
from archive.config import resolve_config
from archive.errors import ExportError
from archive.redaction import PublicSource
from webapp.publish.export import export_site

VALID = (
    '---\nid: {id}\ntitle: "Valid {id}"\nlanguage: en\nstatus: public\n---\n\n'
    "**A:** We waited at the crossing for the ferry {id}.\n\n"
    "**A:** My cousin, [Zorvakh Quellin]{{.redact}}, drove the van.\n"
)


def _archive(directory: Path, outside: Path) -> list[str]:
    directory.mkdir()
    for tid in ("good-one", "good-two"):
        (directory / f"{tid}.md").write_text(VALID.format(id=tid), encoding="utf-8")
    hostile = ["fifo.md", "zero.md", "outside.md", "big.md", "bytes.md"]
    os.mkfifo(directory / "fifo.md")
    (directory / "zero.md").symlink_to("/dev/zero")
    outside.write_text(VALID.format(id="outside"), encoding="utf-8")
    (directory / "outside.md").symlink_to(outside)
    (directory / "big.md").write_bytes(b"---\nid: big\n---\n" + b"x" * (3 * 1024 * 1024))
    (directory / "bytes.md").write_bytes(VALID.format(id="bytes").encode() + b"\xff\xfe\n")
    with contextlib.suppress(PermissionError, OSError):
        os.mknod(directory / "device.md", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        hostile.append("device.md")
    return hostile


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the checkout's code from any folder
    return subprocess.run(
        [sys.executable, "-m", "archive", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def test_hostile_files_beside_valid_ones(tmp_path):
    testimonies = tmp_path / "testimonies"
    hostile = _archive(testimonies, tmp_path / "elsewhere.md")
    common = ["--testimonies", str(testimonies), "--index", str(tmp_path / "index")]

    validate = _run(*common, "validate")
    assert validate.returncode == 1
    for name in hostile:
        assert f"{testimonies / name}" in validate.stderr, (name, validate.stderr)
    assert "2 valid" in validate.stdout
    assert f"{testimonies / 'bytes.md'}:11: file is not valid UTF-8" in validate.stderr
    assert "FIFO" in validate.stderr and "outside the testimonies directory" in validate.stderr
    assert "over the 2,097,152-byte limit" in validate.stderr

    index = _run(*common, "index")
    assert "Traceback" not in index.stderr
    search = _run(*common, "search", "ferry", "--json")
    assert search.returncode == 0 and "good-one" in search.stdout and "good-two" in search.stdout

    out = tmp_path / "site"
    export = _run(*common, "export", str(out), "--base-url", "https://example.org/a/")
    assert export.returncode == 0, export.stderr
    assert (out / "t" / "good-one" / "index.html").is_file()
    assert (out / "t" / "good-two" / "index.html").is_file()
    assert not (out / "t" / "outside").exists()
    for name in hostile:
        assert name in export.stdout  # each named in a warning


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a'b/",
        'https://example.org/"x/',
        "https://example.org/a b/",
        "https://user:pw@example.org/",
        "https://example.org/#top",
        "https://example.org/?q=1",
        "https://example.org/\x07/",
        "javascript:alert(1)",
        "ftp://example.org/",
        "http://[::1",  # found by an attack: ended in a traceback
        "https://example.org/%2e%2e/",  # found by an attack: passed, then the export crashed
    ],
)
def test_a_base_url_that_is_not_clean_is_refused(tmp_path, url):
    testimonies = tmp_path / "testimonies"
    testimonies.mkdir()
    (testimonies / "good-one.md").write_text(VALID.format(id="good-one"), encoding="utf-8")
    common = ["--testimonies", str(testimonies), "--index", str(tmp_path / "index")]
    result = _run(*common, "export", str(tmp_path / "site"), "--base-url", url)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "is refused" in result.stderr
    assert not (tmp_path / "site").exists()


def test_now_after_today_needs_preview_and_preview_marks_every_page(tmp_path):
    testimonies = tmp_path / "testimonies"
    testimonies.mkdir()
    (testimonies / "good-one.md").write_text(VALID.format(id="good-one"), encoding="utf-8")
    config = resolve_config(testimonies=testimonies, index=tmp_path / "index")
    later = dt.date.today() + dt.timedelta(days=30)
    with pytest.raises(ExportError, match="--preview"):
        export_site(tmp_path / "site", config, now=later)
    export_site(tmp_path / "site", config, now=later, preview=True)
    pages = list((tmp_path / "site").rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "Preview, not for publication." in text, page
        assert '<meta name="robots" content="noindex">' in text, page
        assert "<style" not in text and "style=" not in text


def switch_off_redaction(monkeypatch) -> None:
    """Redaction switched off at its one place: the public source is the body with every
    placeholder given its words back, so the renderer publishes what was redacted."""
    made = archive.redaction.public_source

    def unredacted(body: str, path: str, first_line: int) -> PublicSource:
        source = made(body, path, first_line)
        return PublicSource(source.reveal(source.text), errors=source.errors)

    monkeypatch.setattr(archive.parse, "public_source", unredacted)


def test_with_redaction_switched_off_the_export_refuses(tmp_path, monkeypatch):
    """The mutation test: the renderer publishes redacted words; the check must catch it."""
    testimonies = tmp_path / "testimonies"
    testimonies.mkdir()
    (testimonies / "good-one.md").write_text(VALID.format(id="good-one"), encoding="utf-8")
    config = resolve_config(testimonies=testimonies, index=tmp_path / "index")
    export_site(tmp_path / "clean", config)  # passes as is
    switch_off_redaction(monkeypatch)
    with pytest.raises(ExportError, match="non-public material") as caught:
        export_site(tmp_path / "mutated", config)
    assert "inline redaction" in str(caught.value) and "Zorvakh" not in str(caught.value)
    assert not (tmp_path / "mutated").exists()


def test_the_samples_export_from_a_relative_testimonies_path(tmp_path):
    """Found by an attack: with a relative --testimonies (the default is ./testimonies),
    a recording's published copy answered 500 and the export stopped."""
    shutil.copytree(ROOT / "testimonies", tmp_path / "testimonies")
    result = _run("--testimonies", "testimonies", "--index", "index", "export", "site",
                  cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "site").rglob("*.ogg"))
