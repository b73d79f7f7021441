"""Settings, declared once: name, environment variable, default and help.

Precedence, highest first: an explicit value (a command-line option, or the
mapping given to ``create_app``), then the environment variable, then the
default. The README's settings table is checked against :data:`SETTINGS`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RELATIVE_LINKS_NOTE",
    "SETTINGS",
    "Config",
    "Setting",
    "default_index_dir",
    "resolve_config",
    "setting_flag",
]


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "testimonies",
        "ARCHIVE_TESTIMONIES",
        "./testimonies",
        "Directory of testimony files (and its themes.yaml).",
    ),
    Setting(
        "index",
        "ARCHIVE_INDEX",
        None,
        "Index directory. Default: a directory per archive under the user cache "
        "(~/.cache/testimony-archive/NAME-HASH), so a read-only archive can be indexed.",
    ),
    Setting(
        "site_url",
        "ARCHIVE_SITE_URL",
        "",
        "Public base URL used in citations, feeds and the sitemap (e.g. https://example.org/archive/).",
    ),
    Setting(
        "log_queries",
        "ARCHIVE_LOG_QUERIES",
        "0",
        "Set to 1 to write search queries to the server log (off: a journalist's searches stay private).",
    ),
    Setting(
        "today",
        "ARCHIVE_TODAY",
        None,
        "Date (YYYY-MM-DD) embargoes are judged against; default: the real date. For tests and previews.",
    ),
    Setting(
        "fast_path",
        "ARCHIVE_FAST_PATH",
        "1",
        "Set to 0 to match searches with Whoosh's own matchers and collectors only "
        "(same results, slower; for checking archive/search/fastpath.py).",
    ),
)

_TRUE = ("1", "true", "yes", "on")


def setting_flag(name: str, explicit: object = None) -> bool:
    """An on/off setting: ``explicit`` if given, else its environment variable, else its default."""
    if explicit is None:
        setting = next(s for s in SETTINGS if s.name == name)
        explicit = os.environ.get(setting.env) or setting.default
    if isinstance(explicit, bool):
        return explicit
    return str(explicit).lower() in _TRUE


def default_index_dir(testimonies: Path) -> Path:
    """One index directory per archive, outside it: the archive may be read-only."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    absolute = testimonies.resolve()
    digest = hashlib.sha256(str(absolute).encode()).hexdigest()[:10]
    return cache / "testimony-archive" / f"{absolute.name or 'root'}-{digest}"


#: Said wherever a citation or short link is shown without ``site_url`` (pages, command
#: line): the links are site-relative by decision (a request's Host is never trusted), and
#: this is how to make them absolute.
RELATIVE_LINKS_NOTE = (
    "These links are site-relative: this archive has no public address set. To cite with "
    "absolute links, set ARCHIVE_SITE_URL to the archive's public address (for example "
    "https://archive.example.org/)."
)


@dataclass(frozen=True)
class Config:
    testimonies: Path
    index: Path
    site_url: str = ""
    log_queries: bool = False
    today: dt.date | None = None
    fast_path: bool = True

    @property
    def public_index(self) -> Path:
        """The only index the web app and the export ever open."""
        return self.index / "public"

    @property
    def private_index(self) -> Path:
        """Restricted and redacted text, for the archivist's own command line only."""
        return self.index / "private"

    @property
    def media_cache(self) -> Path:
        """Published copies of recordings (redactions silent), named by content hash: see
        :mod:`archive.muting`. Beside the indexes, never inside the testimonies."""
        return self.index / "media"

    def today_or_now(self) -> dt.date:
        return self.today or dt.date.today()


def resolve_config(**explicit: object) -> Config:
    """Build the configuration from explicit values, the environment and defaults."""
    values: dict[str, object] = {}
    for setting in SETTINGS:
        value = explicit.get(setting.name)
        if value is None:
            value = os.environ.get(setting.env) or setting.default
        values[setting.name] = value
    # Absolute, so recordings, the media cache and every path made from these do not
    # depend on the directory a command runs in.
    testimonies = Path(str(values["testimonies"])).expanduser().absolute()
    index = values["index"]
    today = values["today"]
    if isinstance(today, str):
        today = dt.date.fromisoformat(today)
    config = Config(
        testimonies=testimonies,
        index=Path(str(index)).expanduser().absolute() if index else default_index_dir(testimonies),
        site_url=str(values["site_url"] or ""),
        log_queries=setting_flag("log_queries", values["log_queries"]),
        today=today,  # type: ignore[arg-type]
        fast_path=setting_flag("fast_path", values["fast_path"]),
    )
    return config
