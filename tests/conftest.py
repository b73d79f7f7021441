"""Shared fixtures: every test gets its own copy of an archive on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import helpers
import pytest
from e2e_helpers import WEB_TESTIMONIES, Watch, chromium_path, launch_chromium
from helpers import TODAY, write_archive

from archive.config import resolve_config
from archive.index import build_index

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


def copy_small_corpus(target: Path) -> Path:
    """Copy the 200-file subset of the shared corpus into ``target`` (made here), so a test
    may index it; the test is skipped where the corpus is missing."""
    if not WPA.is_dir():
        pytest.skip(f"shared corpus not found at {WPA}")
    target.mkdir(parents=True)
    for testimony_id in small_corpus_ids():
        shutil.copy(WPA / f"{testimony_id}.md", target)
    return target


@pytest.fixture
def small_corpus_dir(tmp_path: Path) -> Path:
    """The 200-file subset of the shared corpus, copied so tests may index it."""
    return copy_small_corpus(tmp_path / "wpa-small")


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


# --- the layers: archive directory -> app -> client -> browser page --------------------------


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    """A fresh copy of the web tests' archive (public en/ru/uk, restricted, embargoed)."""
    return write_archive(tmp_path / "web-archive", WEB_TESTIMONIES)


@pytest.fixture
def make_app(tmp_path: Path):
    """``make_app(testimonies, **settings)``: the app over that archive, indexed first
    (into a fresh directory under tmp), at the tests' fixed today unless ``today`` is given."""
    made = 0

    def make(testimonies: Path, **settings: object):
        nonlocal made
        made += 1
        index = tmp_path / f"index-{made}"
        today = str(settings.get("today", TODAY))
        build_index(resolve_config(testimonies=testimonies, index=index, today=today))
        return helpers.make_app(testimonies, index, **settings)

    return make


@pytest.fixture
def app(archive_dir: Path, make_app):
    return make_app(archive_dir, TESTING=True, GENERATION_CHECK_SECONDS=0)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def browser():
    """One Chromium for a module's browser tests; skipped where none is installed."""
    chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A page of the module's ``browser``; the test fails on any dialog (injected script
    shows itself so), console error or page error. A test that provokes an error on purpose
    takes it out of ``page.watch.errors`` once it has checked it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.watch = Watch(page)
    yield page
    context.close()
    assert page.watch.dialogs == [], f"dialogs opened: {page.watch.dialogs}"
    assert page.watch.errors == [], f"console or page errors: {page.watch.errors}"
