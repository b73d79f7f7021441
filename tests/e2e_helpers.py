"""Helpers for the browser tests: a real waitress server thread and a real Chromium."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from canaries import WEB
from helpers import TODAY, write_archive

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-output" / "screenshots"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    """The system Chromium; skipped locally without one, a failure on CI."""
    path = shutil.which("chromium")
    if path is None:
        message = (
            "the browser tests need a 'chromium' executable on PATH (apt-get install chromium)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class LiveServer:
    """The app under waitress on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self, app) -> None:
        from waitress.server import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, threads=4)
        self.port = self.server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            # waitress has no stop: closing its socket from another thread makes the
            # select() under run() fail (EBADF, or a closed fd of -1). Only then is it fine.
            if not self.closing.is_set():
                raise

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.server.close()
        self.thread.join(timeout=5)


@contextmanager
def live_server(app) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


# --- a small archive the web tests own -------------------------------------------------

#: Words that must never appear in any public output (:data:`canaries.WEB`).
CANARIES = tuple(WEB.values())

OFFICER = """---
id: officer
title: "An officer on leaving his unit"
narrator: "Andrei (pseudonym)"
interviewer: "Newsroom staff"
date: 2023-11-14
place: "Kharkiv region"
language: en
status: public
source: "Written for the web tests"
license: "CC BY 4.0"
themes: [leaving-service, furlough]
---

**Q:** When did you first think about leaving?

**Andrei:** In January, near [%(inline)s village]{.redact}. In two weeks my platoon went from twenty-six men to nine.
{: #first-thought themes="leaving-service" }

**Andrei:** The commander refused to sign the referal, and he said that half the battalion has a hernia and they all fight.
{: #commission-blocked themes="medical-commission" }

- A report asking for discharge.
{: #option-report themes="legal-routes" }
- Leave, fifteen days twice a year on paper.
{: #option-leave themes="furlough" }

> Fit for military service.
> {: #discharge-summary themes="hospitalisation" }

**Andrei:** My wife's brother %(passage)s drove me to the border at night.
{: .redact }

**Andrei:** At the crossing point they held me for about forty minutes, then the border guard said: "Go ahead."
{: #crossed-border themes="escape-abroad furlough" }
"""

OFFICER_RU = """---
id: officer-ru
title: "Офицер о том, как он уходил из части"
narrator: "Андрей (псевдоним)"
date: 2023-11-14
place: "Харьковская область"
language: ru
status: public
translation_of: officer
themes: [leaving-service]
---

**Вопрос:** Когда вы впервые подумали об уходе?

**Андрей:** В январе. За две недели во взводе из двадцати шести человек осталось девять. Мне дали отпуск, и я уехал.
{: #first-thought themes="furlough" }
"""

MOTHER_UK = """---
id: mother-uk
title: "Мати про сина, який переховувався вдома"
narrator: "Галина (псевдонім)"
date: "2024"
place: "Житомирська область"
language: uk
status: public
themes: [hiding, family]
---

**Галина:** Син пішов з частини і пів року переховувався вдома. Ми нікому не казали, навіть сусідам.
{: #hiding-at-home themes="hiding" }
"""

SECRET = """---
id: secret
title: "A restricted account %(restricted)s"
narrator: "%(restricted)s"
language: en
status: restricted
themes: [desertion]
---

The furlough was refused, said %(restricted)s, and I walked out of the unit.
"""

EMBARGOED = """---
id: embargoed
title: "An embargoed account %(embargoed)s"
language: en
status: embargoed
publish_after: 2099-01-01
themes: [desertion]
---

The furlough was over and %(embargoed)s never went back.
"""

PAST_EMBARGO = """---
id: past-embargo
title: "An account whose embargo has ended"
narrator: "Oleg"
date: "1998"
language: en
status: embargoed
publish_after: 2001-01-01
themes: [desertion]
---

He deserted in the spring, during his furlough, and never came back.
"""

_WORDS = WEB

#: The web tests' archive (write it with :func:`helpers.write_archive`): public (en/ru/uk),
#: restricted, embargoed and a past embargo.
WEB_TESTIMONIES = {
    "officer": OFFICER % _WORDS,
    "officer-ru": OFFICER_RU,
    "mother-uk": MOTHER_UK,
    "secret": SECRET % _WORDS,
    "embargoed": EMBARGOED % _WORDS,
    "past-embargo": PAST_EMBARGO,
}


class Watch:
    """Records console errors and page errors of a page; dismisses and records any dialog
    (an alert is how injected script would show itself)."""

    def __init__(self, page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.document_statuses: list[str] = []  # a 4xx page asked for on purpose
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message) -> None:
        if message.type != "error":
            return
        # The status of the page itself is the test's to check (goto(...).status); a failed
        # script, style or fetch of that page is an error.
        # Chromium's own probe for /favicon.ico (a feed or a JSON file names no icon) is
        # not the page's either.
        url = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and (
            url == self.page.url or url.endswith("/favicon.ico")
        ):
            self.document_statuses.append(f"{message.text} ({url})")
        else:
            self.errors.append(f"{message.text} ({message.location.get('url')})")


def in_viewport(page, selector: str) -> bool:
    """Whether the element is on screen: what a jump to a passage must achieve."""
    return page.eval_on_selector(
        selector,
        """el => { const r = el.getBoundingClientRect();
                   return r.top >= 0 && r.bottom <= window.innerHeight && r.width > 0; }""",
    )


# --- the export, served as a static host serves it ------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StaticSite:
    """The export under ``/archive/``, served by ``python -m http.server`` in a subprocess:
    of the web tests' archive (:data:`WEB_TESTIMONIES`), or of a copy of ``source``."""

    def __init__(
        self, tmp: Path, extra: dict[str, str] | None = None, source: Path | None = None
    ) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}/archive/"
        if source is None:
            self.testimonies = write_archive(tmp / "testimonies", WEB_TESTIMONIES)
        else:
            self.testimonies = Path(shutil.copytree(source, tmp / "testimonies"))
        for testimony_id, text in (extra or {}).items():
            (self.testimonies / f"{testimony_id}.md").write_text(text, encoding="utf-8")
        from archive.config import resolve_config
        from webapp.publish.export import export_site

        self.www = tmp / "www"
        self.www.mkdir()
        self.config = resolve_config(testimonies=self.testimonies, index=tmp / "index")
        export_site(
            self.www / "archive",
            self.config,
            base_url=self.base,
            now=dt.date.fromisoformat(TODAY),
            check=True,
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
             "--directory", str(self.www)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(self.base, timeout=1) as response:  # noqa: S310
                    response.read()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("the static file server did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def select_words(page, first: str, last: str | None = None) -> None:
    """Select from the start of ``first`` to the end of ``last`` (default: ``first``) inside
    the testimony text, as a person would with the mouse."""
    page.evaluate(
        """([first, last]) => {
            const root = document.getElementById('testimony_text');
            function find(words) {
                const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
                let node;
                while ((node = walker.nextNode())) {
                    const i = node.data.indexOf(words);
                    if (i >= 0) { return [node, i]; }
                }
                throw new Error('words not found: ' + words);
            }
            const [a, i] = find(first);
            const [b, j] = find(last);
            const range = document.createRange();
            range.setStart(a, i);
            range.setEnd(b, j + last.length);
            const sel = window.getSelection();
            sel.removeAllRanges();
            sel.addRange(range);
        }""",
        [first, last or first],
    )


def clipboard_page(browser, origin: str):
    """A page in a fresh context that may read and write the clipboard on ``origin``;
    ``page.watch`` records its dialogs and errors. Close it with ``page.context.close()``."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = context.new_page()
    page.watch = Watch(page)
    return page


def copy_link(page, words: str | None = None) -> str:
    """Press "Copy link" (after selecting ``words``, when given); the link the page made."""
    if words is not None:
        select_words(page, words)
        page.wait_for_selector("#quote_toolbar:not([hidden])")
    page.click("#quote_copy")
    page.wait_for_selector("#quote_toolbar[data-link]", state="attached")
    return page.get_attribute("#quote_toolbar", "data-link")


def serious_axe_violations(page) -> list:
    """axe-core's serious and critical findings on the page: (rule, impact, first targets)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
