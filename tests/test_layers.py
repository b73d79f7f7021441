"""The library stands alone: no module of ``archive`` but the command line loads the web app.

Each check runs in a fresh interpreter: in this one, other tests have long since
imported Flask, so ``sys.modules`` here proves nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys

#: What only the web app (and the command line, inside the commands that need it) may load.
WEB = ("flask", "werkzeug", "jinja2", "webapp")
#: The command line sits on top of the library and of the web app.
TOP = ("archive.cli", "archive.__main__")

# Every module of the package, found by walking it (a new module is covered without a
# change here), imported in turn; then what the interpreter holds.
_IMPORT_THE_LIBRARY = """
import importlib, pkgutil
import archive

def refuse(name):
    raise ImportError(f"cannot import {name} while walking the archive package")

imported = []
for info in pkgutil.walk_packages(archive.__path__, "archive.", onerror=refuse):
    if info.name not in TOP:
        importlib.import_module(info.name)
        imported.append(info.name)
report = imported
"""

# ``archive --help`` and each command's ``--help``: what a user pays for before any work.
_ASK_FOR_HELP = """
import contextlib, io
from archive.cli import main

for args in [["--help"]] + [[name, "--help"] for name in sorted(main.commands)]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(args, prog_name="archive")
report = sorted(main.commands)
"""

_PRINT = 'import json, sys\nprint(json.dumps({"report": report, "loaded": sorted(sys.modules)}))'


def _fresh(code: str) -> tuple[list[str], list[str]]:
    """Run ``code`` in a new interpreter of this environment: its ``report``, and the
    modules the interpreter then holds."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"TOP = {TOP!r}\n{code}\n{_PRINT}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    return result["report"], result["loaded"]


def _web(loaded: list[str]) -> list[str]:
    """Which of :data:`WEB` are among the ``loaded`` modules."""
    return sorted({name.split(".")[0] for name in loaded} & set(WEB))


def test_no_library_module_loads_the_web_app():
    imported, loaded = _fresh(_IMPORT_THE_LIBRARY)
    # The walk found the library (not an empty or wrong package) and skipped only the top.
    assert {"archive.model", "archive.parse", "archive.index", "archive.quotecheck"} <= set(
        imported
    )
    assert any(name.startswith("archive.search") for name in imported)
    assert not set(TOP) & set(imported)
    assert _web(loaded) == [], (
        "a module of the archive library loads the web app (directly or through an import); "
        "only archive.cli may, inside the commands that serve or export"
    )


def test_help_of_every_command_leaves_the_web_app_unloaded():
    """The CLI imports ``webapp`` inside ``serve`` and ``export`` only: the other commands
    (and every ``--help``) start without paying for Flask."""
    commands, loaded = _fresh(_ASK_FOR_HELP)
    assert {"serve", "export", "search", "validate"} <= set(commands)
    assert _web(loaded) == []


def test_the_check_sees_the_web_app_when_it_is_loaded():
    """The same probe, with the export imported too, finds what the checks above look for."""
    _, loaded = _fresh(_IMPORT_THE_LIBRARY + "import webapp.publish.export\n")
    assert _web(loaded) == sorted(WEB)
