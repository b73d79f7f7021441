"""The ``archive`` command line: thin click commands over the library.

Each command parses its options, calls one library function and formats the
result, as text for people or ``--json`` for scripts. Errors a user can fix
are printed as ``path:line: message`` without a traceback.

This module is the top: the rest of :mod:`archive` never imports the web app.
It imports :mod:`webapp` itself only inside ``serve`` and ``export``, so the
other commands (and every ``--help``) start without loading Flask
(``tests/test_layers.py`` checks both).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import click

from .config import RELATIVE_LINKS_NOTE, Config, resolve_config
from .errors import ArchiveError
from .model import Archive
from .parse import iter_testimony_files, load_archive
from .safefile import UnsafeFile, read_regular_file
from .themes import suggest, write_suggestions

__all__ = ["main"]


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _config(ctx: click.Context) -> Config:
    return ctx.find_object(Config) or resolve_config()


def _load(ctx: click.Context) -> Archive:
    config = _config(ctx)
    if not config.testimonies.is_dir():
        raise click.ClickException(
            f"{config.testimonies}: no such directory "
            "(set --testimonies DIR or ARCHIVE_TESTIMONIES)"
        )
    return load_archive(config.testimonies)


class _Group(click.Group):
    """Turns an :class:`ArchiveError` into a clean message and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ArchiveError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--testimonies",
    type=click.Path(file_okay=False, path_type=Path),
    help="Testimony directory [env ARCHIVE_TESTIMONIES; default ./testimonies].",
)
@click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Index directory [env ARCHIVE_INDEX; default: one per archive in the user cache].",
)
@click.version_option(package_name="testimony-archive")
@click.pass_context
def main(ctx: click.Context, testimonies: Path | None, index_dir: Path | None) -> None:
    """Keep, search, verify and publish interview testimonies.

    \b
    Examples:
      archive validate
      archive --testimonies ../shared/corpus/wpa stats
      archive search 'leave "at home"'
    """
    ctx.obj = resolve_config(testimonies=testimonies, index=index_dir)


def _ledger_report(config: Config, archive: Archive, testimonies: set[str] | None = None):
    """The ledger's own errors and the warnings about its quotes (see archive.ledger)."""
    from .ledger import check_ledger, load_ledger

    ledger = load_ledger(config.testimonies)
    problems = check_ledger(ledger, archive, config.today_or_now(), testimonies)
    return ledger, problems


def _relative_links_note(config: Config) -> None:
    """Without site_url the links printed are site-relative (a decision: see README,
    "Absolute links"); say so, and how to get absolute ones, on stderr."""
    if not config.site_url:
        click.echo(f"Note: {RELATIVE_LINKS_NOTE}", err=True)


def _echo_ledger_warnings(problems: list) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--strict", is_flag=True,
              help="Treat warnings about published quotes (quotes.yaml) as errors: for CI.")  # fmt: skip
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], as_json: bool, strict: bool) -> None:
    """Check testimony files and the quote ledger; exit 1 if any has errors.

    Without PATHS, checks the whole archive (its themes.yaml and quotes.yaml
    too). Each problem is printed as FILE:LINE: message (hint). A published
    quote (quotes.yaml) that an edit changed or lost, or whose testimony is
    no longer public, is a warning; with --strict, an error.

    \b
    Examples:
      archive validate
      archive validate --strict
      archive validate testimonies/officer-left-unit-2023.md
      archive validate --json | jq '.errors[].message'
    """
    config = _config(ctx)
    files = [f for p in paths for f in (iter_testimony_files(p) if p.is_dir() else [p])] or None
    archive = load_archive(config.testimonies, paths=files)
    checked = (
        len(files) if files is not None else len(list(iter_testimony_files(config.testimonies)))
    )
    ledger, warnings = _ledger_report(
        config, archive, {f.stem for f in files} if files is not None else None
    )
    errors = list(archive.errors) + list(ledger.errors)
    if as_json:
        _echo_json(
            {
                "checked": checked,
                "valid": len(archive.testimonies),
                "errors": [e.as_dict() for e in errors],
                "warnings": [w.as_dict() for w in [*archive.warnings, *warnings]],
            }
        )
    else:
        for warning in archive.warnings:
            click.echo(f"warning: {warning}", err=True)
        for error in errors:
            click.echo(str(error), err=True)
        _echo_ledger_warnings(warnings)
        files_with_errors = len({e.path for e in errors})
        click.echo(
            f"{checked} file(s) checked: {len(archive.testimonies)} valid, "
            f"{len(errors)} error(s) in {files_with_errors} file(s)"
            + (f", {len(warnings)} published quote(s) to look at" if warnings else "")
        )
    # A ledger holding private words is never only a warning: its /q/ page withholds them.
    if errors or (strict and warnings) or any(w.kind == "private" for w in warnings):
        ctx.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts by status, language and theme, and words, of the whole archive.

    \b
    Example:
      archive --testimonies ../shared/corpus/wpa stats --json
    """
    archive = _load(ctx)
    today = _config(ctx).today_or_now()
    ts = list(archive.testimonies.values())
    themes: Counter[str] = Counter()
    for t in ts:
        themes.update(t.all_themes)
    data = {
        "testimonies": len(ts),
        "public_now": len(archive.public(today)),
        "passages": sum(len(t.passages) for t in ts),
        "words": sum(t.word_count for t in ts),
        "by_status": dict(sorted(Counter(t.status for t in ts).items())),
        "by_language": dict(sorted(Counter(t.language for t in ts).items())),
        "by_theme": dict(themes.most_common()),
        "invalid_files": len({e.path for e in archive.errors}),
    }
    if as_json:
        _echo_json(data)
        return
    click.echo(
        f"{data['testimonies']} testimonies ({data['public_now']} public now), "
        f"{data['passages']} passages, {data['words']:,} words"
    )
    for title, key in (("status", "by_status"), ("language", "by_language"), ("theme", "by_theme")):
        click.echo(f"\nBy {title}:")
        for name, count in data[key].items():
            click.echo(f"  {name:<28} {count:>6}")
    if data["invalid_files"]:
        click.echo(f"\n{data['invalid_files']} file(s) have errors: run 'archive validate'.")


@main.group()
def themes() -> None:
    """The themes vocabulary and theme suggestions."""


@themes.command("suggest")
@click.argument("ids", nargs=-1)
@click.option(
    "--write", is_flag=True, help="Add the suggestions to the files as {: themes } lines."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def themes_suggest(ctx: click.Context, ids: tuple[str, ...], write: bool, as_json: bool) -> None:
    """Suggest themes for untagged passages from the vocabulary's keywords.

    Nothing is applied unless --write is given; then each suggested passage
    gets a themes="..." attribute and every other byte of the file stays.

    \b
    Examples:
      archive themes suggest
      archive themes suggest conscript-hid-2024 --json
      archive themes suggest conscript-hid-2024 --write
    """
    archive = _load(ctx)
    unknown = [i for i in ids if i not in archive.testimonies]
    if unknown:
        raise click.ClickException(f"no such testimony: {', '.join(unknown)}")
    chosen = [archive.testimonies[i] for i in ids] or list(archive.testimonies.values())
    results = {t.id: suggest(t, archive.vocabulary) for t in chosen}
    if as_json:
        _echo_json(
            [
                {"testimony": s.testimony, "passage": s.passage, "theme": s.theme,
                 "words": list(s.words), "line": s.line}
                for found in results.values() for s in found
            ]
        )  # fmt: skip
    else:
        for t in chosen:
            for s in results[t.id]:
                click.echo(f"{t.path}:{s.line}: #{s.passage} {s.theme} ({', '.join(s.words)})")
    if write:
        changed = sum(write_suggestions(archive.testimonies[i], s) for i, s in results.items() if s)
        click.echo(f"{changed} passage(s) tagged.", err=as_json)


def _index_summary(report) -> str:  # report: archive.index.IndexReport
    how = {"full": "rebuilt", "incremental": "updated", "unchanged": "unchanged"}[report.mode]
    return (
        f"{report.index} index {how} ({report.reason}): {report.testimonies} testimonies, "
        f"{report.passages:,} passages in {report.seconds:.1f} s\n"
        f"  added {report.added}, updated {report.updated}, removed {report.removed}, "
        f"unchanged {report.unchanged}, withheld {report.withheld}\n"
        f"  {report.generation}"
    )


#: How much of a file's head is searched for a ``media:`` key (front matter comes first).
FRONT_MATTER_SCAN = 64 * 1024
_MEDIA_KEY = re.compile(rb"^media[ \t]*:", re.MULTILINE)


def _names_recordings(directory: Path) -> bool:
    """Does any testimony's front matter name a recording? (One read of each file's head,
    far cheaper than parsing the archive; a false yes costs only that parse.)"""
    for path in iter_testimony_files(directory):
        try:
            head = read_regular_file(path, directory)[:FRONT_MATTER_SCAN]
        except (OSError, UnsafeFile):
            continue  # the indexer has reported it
        if _MEDIA_KEY.search(head):
            return True
    return False


def _prepare_media(config, archive) -> tuple[int, list[str]]:  # noqa: ANN001
    """Make the public recordings' published copies now, so no reader of the server
    waits for one; nothing to do (and no web app loaded) without recordings."""
    public = [t for t in archive.public(config.today_or_now()) if t.media]
    if not public:
        return 0, []
    from webapp.media import prepare_all

    return prepare_all(config, public)


@main.command("index")
@click.option("--full", is_flag=True, help="Rebuild from scratch instead of updating.")
@click.option(
    "--include-restricted",
    is_flag=True,
    help="Also build the private index (restricted and redacted text) for the archivist's "
    "own 'archive search --include-restricted'.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def index_command(ctx: click.Context, full: bool, include_restricted: bool, as_json: bool) -> None:
    """Build or update the search index from the testimony files.

    Only public testimonies and their public text go into the index the
    web app reads. Changed, added and removed files are applied to a copy of
    the index that replaces it in one step, so searches never see a
    half-built index. Files with errors are skipped and listed as
    FILE:LINE: message; the rest is indexed and the exit status is 1.
    Public recordings' published copies (redactions silent) are made too,
    so that no reader of 'archive serve' waits for one.

    \b
    Examples:
      archive index
      archive index --full
      archive --testimonies ../shared/corpus/wpa index --json
      archive index --include-restricted
    """
    from .index import build_index

    config = _config(ctx)
    report = build_index(
        config, full=full, include_restricted=include_restricted, progress=not as_json
    )
    from .ledger import Ledger, ledger_path

    # The index does not keep the files' text: read them again for the ledger, and for
    # recordings after a change (copies of unchanged ones were made by an earlier run), but
    # never when neither needs it: "nothing changed" must stay a stat per file.
    has_ledger = ledger_path(config.testimonies).exists()
    changed = report.mode != "unchanged" and _names_recordings(config.testimonies)
    archive = load_archive(config.testimonies) if has_ledger or changed else None
    ledger, warnings = (
        _ledger_report(config, archive)
        if has_ledger and archive is not None
        else (Ledger(ledger_path(config.testimonies)), [])
    )
    media_ready, media_warnings = (
        _prepare_media(config, archive) if changed and archive is not None else (0, [])
    )
    if as_json:
        _echo_json(
            {**report.as_dict(), "ledger_warnings": [w.as_dict() for w in warnings],
             "ledger_errors": [e.as_dict() for e in ledger.errors],
             "media_ready": media_ready, "media_warnings": media_warnings}
        )  # fmt: skip
    else:
        for error in [*report.errors, *ledger.errors]:
            click.echo(str(error), err=True)
        _echo_ledger_warnings(warnings)
        for warning in media_warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(_index_summary(report))
        if media_ready:
            click.echo(f"  {media_ready} published recording(s) ready (redactions silent)")
        if report.private is not None:
            click.echo(_index_summary(report.private))
        if report.errors:
            files = len({e.path for e in report.errors})
            click.echo(f"{files} file(s) with errors were skipped.", err=True)
    if report.errors:
        ctx.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--debug", is_flag=True, help="Use Flask's development server with the debugger.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--no-watch",
    is_flag=True,
    help="Do not watch the testimony files (read-only deployments); "
    "a reindex by 'archive index' is still picked up.",
)
@click.option("--editor", is_flag=True,
              help="Editor mode: 'Copy link' also records the quote in quotes.yaml. "
                   "Loopback addresses only.")  # fmt: skip
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    debug: bool,
    threads: int,
    no_watch: bool,
    editor: bool,
) -> None:
    """Serve the web pages and JSON API (waitress), after bringing the index up to date.

    Saved edits of the testimony files (new, changed, renamed, deleted files,
    themes.yaml) are applied while serving: a changed testimony is left out
    of every answer at once, and shown again when its new version is
    indexed, a second or so later. Search queries are not logged unless
    ARCHIVE_LOG_QUERIES=1. With --editor, the page's "Copy link" records the
    selected words in the quote ledger and copies their short link; a public
    server never writes, so --editor is refused unless HOST is loopback
    (127.0.0.1, ::1, localhost).

    \b
    Examples:
      archive serve
      archive serve --editor
      archive --testimonies ../shared/corpus/wpa serve --port 8080
      ARCHIVE_SITE_URL=https://example.org/archive/ archive serve --host 0.0.0.0
      archive serve --no-watch
    """
    from webapp.editor import is_loopback
    from webapp.serve import serve as run_server

    if editor and not is_loopback(host):
        raise click.ClickException(
            f"--editor writes the quote ledger: it serves on a loopback address only, not {host} "
            "(use --host 127.0.0.1)"
        )
    config = _config(ctx)
    if not config.testimonies.is_dir():
        raise click.ClickException(
            f"{config.testimonies}: no such directory "
            "(set --testimonies DIR or ARCHIVE_TESTIMONIES)"
        )
    run_server(
        config,
        host,
        port,
        debug=debug,
        threads=threads,
        announce=click.echo,
        watch=not no_watch,
        editor=editor,
    )


def _snippet_text(parts: tuple[tuple[str, bool], ...], color: bool) -> str:
    """A hit's snippet for a terminal: matched words bold on a tty, in [brackets] otherwise."""
    out = []
    for text, marked in parts:
        text = re.sub(r"\s+", " ", text)
        if marked:
            out.append(click.style(text, bold=True) if color else f"[{text}]")
        else:
            out.append(text)
    return "".join(out)


@main.command("search")
@click.argument("query", required=False, default="")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100),
              help="Hits per page.")  # fmt: skip
@click.option("--page", default=1, show_default=True, type=click.IntRange(1, None))
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance",
              show_default=True)  # fmt: skip
@click.option("--theme", multiple=True, help="Only passages with this theme (or a narrower one).")
@click.option(
    "--lang", "language", multiple=True, help="Only passages in this language (en, ru, uk)."
)
@click.option("--mode", type=click.Choice(["best", "all"]), default="best", show_default=True,
              help="best: passages with most of the words too, below those with all; "
                   "all: every word must match.")  # fmt: skip
@click.option("--view", type=click.Choice(["testimonies", "passages"]), default="testimonies",
              show_default=True, help="Each testimony once, or every passage.")  # fmt: skip
@click.option("--testimony", default=None, help="Only this testimony's passages.")
@click.option("--include-restricted", is_flag=True,
              help="Search the private index (restricted, embargoed and redacted text) "
                   "instead of the public one. For the archivist's own use.")  # fmt: skip
@click.pass_context
def search_command(
    ctx: click.Context,
    query: str,
    as_json: bool,
    limit: int,
    page: int,
    sort: str,
    theme: tuple[str, ...],
    language: tuple[str, ...],
    mode: str,
    view: str,
    testimony: str | None,
    include_restricted: bool,
) -> None:
    """Search passages: a description, words, "phrases", +word, OR, -word, filters.

    By default (--mode best) passages holding every word come first, then
    those holding most of them, each with the words it lacks; "phrases" and
    +words are required. Queries with OR, NOT, -word or parentheses keep
    their exact meaning. Filters in the query: theme:SLUG, lang:xx,
    place:word, narrator:word, date:2023 / date:2023-05 / date:2023..2024;
    prefix: escap* (3+ letters). A word no text holds is reported; one with
    a close spelling is searched as that word, and the note says so. Build
    the index first with 'archive index'.

    \b
    Examples:
      archive search 'leave "at home"'
      archive search 'soldiers who shot themselves to get to hospital'
      archive search 'отпуск OR відпустка' --lang ru --lang uk
      archive search 'desert* -hospital date:2023..2024' --sort date --json
      archive search --theme escape-abroad --limit 50
    """
    from .search import search

    config = _config(ctx)
    index_dir = config.private_index if include_restricted else config.public_index
    filters = {"theme": list(theme), "language": list(language)}
    results = search(index_dir, query, filters=filters, page=page, per_page=limit, sort=sort,
                     base_url=config.site_url, mode=mode, view=view,
                     testimony=testimony)  # fmt: skip
    if as_json:
        _echo_json(results.as_dict())
        return
    color = sys.stdout.isatty()
    if results.unknown:
        click.echo("Unknown: no text holds " + ", ".join(results.unknown))
    if results.showing:
        click.echo(f"Showing results for: {results.showing}")
        click.echo(f"Search instead for: {results.search_instead}")
    for notice in results.notices:
        click.echo(f"Note: {notice}", err=True)
    if results.suggestion:
        click.echo(f"Did you mean: {results.suggestion}")
    first = (results.page - 1) * results.per_page
    if results.past_end:
        click.echo(f"{results.total} hit(s); page {results.page} is past the last page "
                   f"({results.pages}).")  # fmt: skip
        return
    unit = "testimonies" if results.view == "testimonies" else "hit(s)"
    shown = f"{first + 1}-{first + len(results.groups)} of " if results.groups else ""
    passages = f", {results.passages} passage(s)" if results.view == "testimonies" else ""
    shown = shown if results.view == "testimonies" else (
        f"{first + 1}-{first + len(results.hits)} of " if results.hits else "")  # fmt: skip
    click.echo(
        f"{shown}{results.total} {unit}{passages}"
        + (" (search timed out)" if results.timed_out else "")
    )
    for group in results.groups:
        click.echo("")
        head = group.title + (f" ({group.date})" if group.date else "")
        click.echo(click.style(head, underline=True) if color else head)
        if not group.hits:
            click.echo(f"  {', '.join(group.matched_on) or 'testimony'} matches  {group.url}")
        for hit in group.hits:
            click.echo(f"  #{hit.passage}  {hit.url}")
            click.echo(f"    {_snippet_text(hit.snippet_parts, color)}")
            if hit.missing:
                click.echo(f"    Missing: {', '.join(hit.missing)}")
        if group.more:
            click.echo(f"  {group.more} more in this testimony (--testimony {group.testimony})")
    if not results.groups:
        return
    click.echo("")
    for name, values in results.facets.items():
        if values:
            click.echo(f"{name}: " + ", ".join(f"{v} ({n})" for v, n in values[:8]))


def _cite_text(config: Config, archive: Archive, testimony_id: str, start: int, end: int,
               fallback_url: str) -> str | None:  # fmt: skip
    """The plain-text citation the web gives for these words: the ledger quote's short
    link when they are in the ledger, else ``fallback_url``."""
    from .anchors import make_anchor
    from .citations import citation_url, make_citation, plain_text
    from .ledger import load_ledger, placed_quotes
    from .model import passage_offsets, public_text

    today = config.today_or_now()
    t = archive.get_public(testimony_id, today)
    if t is None:
        return None
    offsets = passage_offsets(t)
    passage = max((p.id for p in t.passages if offsets[p.id] <= start),
                  key=lambda pid: offsets[pid], default=None)  # fmt: skip
    anchor = make_anchor(public_text(t), start, end, testimony=t.id, passage=passage)
    placed = placed_quotes(load_ledger(config.testimonies), archive, today).get(t.id, [])
    quote_id = next((p.quote.id for p in placed if (p.start, p.end) == (start, end)), None)
    url = (
        citation_url(t.id, anchor, quote_id=quote_id, base_url=config.site_url)
        if quote_id
        else fallback_url
    )
    return plain_text(make_citation(t, anchor, url=url, accessed=today))


@main.command("quote")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--limit", default=3, show_default=True, type=click.IntRange(1, 20),
              help="Candidate sources to show.")  # fmt: skip
@click.option("--cite", is_flag=True,
              help="Record the best match in the quote ledger (quotes.yaml) and print its "
                   "citation with the short link.")  # fmt: skip
@click.option("--where", metavar="NOTE", help="With --cite: where the quote is published.")
@click.pass_context
def quote_command(
    ctx: click.Context, text: str, as_json: bool, limit: int, cite: bool, where: str | None
) -> None:
    """Find where a quote comes from and how it differs from the source.

    Paste the quote as it stands in your draft: changed words, dropped
    punctuation and a paragraph break inside it are all fine. Each match
    shows the exact source text, its score (0-1), a word-by-word diff and a
    citation (the web's, word for word) with a link to the words. With
    --cite, the best match goes into the quote ledger and the citation
    carries its short link. Exit status 1 if no close match.

    \b
    Examples:
      archive quote 'I was a man able to do a mans work'
      archive quote 'I was a man able to do a mans work' --cite --where 'Story of 2026-12-08'
      archive quote "$(pbpaste)" --json | jq '.matches[0].citation'
    """
    from .ledger import add_quote_at
    from .quotecheck import check_quote

    config = _config(ctx)
    result = check_quote(config.public_index, text, limit=limit, base_url=config.site_url)
    wanted = [config.testimonies / f"{m.testimony}.md" for m in result.matches]
    archive = load_archive(
        config.testimonies, paths=[p for p in dict.fromkeys(wanted) if p.is_file()]
    )
    recorded = None
    if cite and result.found:
        best = result.matches[0]
        t = archive.get_public(best.testimony, config.today_or_now())
        if t is None:
            raise click.ClickException(f"{best.testimony} is not public: nothing was recorded")
        recorded, _ = add_quote_at(config.testimonies, t, best.start, best.end, where=where,
                                   today=config.today_or_now())  # fmt: skip
    citations = [
        _cite_text(config, archive, m.testimony, m.start, m.end, m.url) for m in result.matches
    ]
    if as_json:
        data = result.as_dict()
        for match, citation in zip(data["matches"], citations, strict=True):
            match["citation_text"] = citation
        if cite:
            data["ledger"] = recorded.as_dict() if recorded else None
        _echo_json(data)
    else:
        color = sys.stdout.isatty()
        if not result.matches:
            click.echo("No source found for this quote in the public archive.")
        for number, match in enumerate(result.matches, start=1):
            c = match.citation
            click.echo(f"{number}. {match.verdict} match, score {match.score:.2f}: "
                       f"{c.title}, #{', #'.join(match.passages)}")  # fmt: skip
            click.echo(f"   Source: {' '.join(match.exact.split())}")
            changes = [op for op in match.diff if op["op"] != "equal"]
            for op in changes:
                old = click.style(op["source"], fg="red") if color else op["source"]
                new = click.style(op["quoted"], fg="green") if color else op["quoted"]
                click.echo(f"   {op['op']}: {old!s} -> {new!s}" if op["op"] == "replace"
                           else f"   {op['op']}: {op['source'] or op['quoted']}")  # fmt: skip
            click.echo(f"   Cite: {citations[number - 1] or match.url}")
        if recorded is not None:
            click.echo(f"Recorded in the quote ledger as {recorded.id}.")
        if result.matches:
            _relative_links_note(config)
    if cite and not result.found:
        click.echo("No close match: nothing was recorded in the ledger.", err=True)
    if not result.found:
        ctx.exit(1)


@main.group()
def quotes() -> None:
    """The quote ledger (quotes.yaml): quotes the newsroom has cited or published."""


def _quote_line(q, config: Config) -> str:
    from .urls import quote_url

    words = " ".join(q.exact.split())
    words = words if len(words) <= 80 else words[:79] + "…"
    note = f" ({q.where})" if q.where else ""
    return f"{q.id}  {quote_url(q.id, config.site_url)}  {q.testimony}#{q.passage or ''}  " \
           f"{q.cited}{note}\n    “{words}”"  # fmt: skip


@quotes.command("add")
@click.argument("testimony")
@click.argument("words")
@click.option("--where", metavar="NOTE", help="Where the quote is published (a note).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def quotes_add(ctx: click.Context, testimony: str, words: str, where: str | None,
               as_json: bool) -> None:  # fmt: skip
    """Record WORDS of the public TESTIMONY in the ledger and print their citation.

    The words must occur once in the testimony's public text (spacing may
    differ) and must not touch a redaction. Adding the same words again
    gives the entry already there.

    \b
    Examples:
      archive quotes add officer-left-unit-2023 "the battalion has a queue"
      archive quotes add officer-left-unit-2023 "the battalion has a queue" --where "Story of 2026-12-08"
    """
    from .ledger import add_quote
    from .urls import quote_url

    config = _config(ctx)
    archive = _load(ctx)
    quote, new = add_quote(config.testimonies, archive, testimony, words, where=where,
                           today=config.today_or_now())  # fmt: skip
    url = quote_url(quote.id, config.site_url)
    citation = _cite_text(config, archive, quote.testimony, quote.start, quote.end, url)
    if as_json:
        _echo_json({**quote.as_dict(), "url": url, "new": new, "citation": citation})
        return
    click.echo(("Added " if new else "Already in the ledger: ") + _quote_line(quote, config))
    click.echo(f"Cite: {citation}")
    _relative_links_note(config)


@quotes.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def quotes_list(ctx: click.Context, as_json: bool) -> None:
    """Every quote in the ledger, with its short link.

    \b
    Example:
      archive quotes list --json | jq '.[].id'
    """
    from .ledger import load_ledger
    from .urls import quote_url

    config = _config(ctx)
    ledger = load_ledger(config.testimonies)
    for error in ledger.errors:
        click.echo(str(error), err=True)
    if as_json:
        _echo_json(
            [{**q.as_dict(), "url": quote_url(q.id, config.site_url)} for q in ledger.quotes]
        )
    else:
        for q in ledger.quotes:
            click.echo(_quote_line(q, config))
        click.echo(f"{len(ledger.quotes)} quote(s) in {ledger.path}")
        if ledger.quotes:
            _relative_links_note(config)
    if ledger.errors:
        ctx.exit(1)


@quotes.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 on any warning too (for CI).")
@click.pass_context
def quotes_check(ctx: click.Context, as_json: bool, strict: bool) -> None:
    """Check every ledger quote against the current text.

    Warns about a quote an edit has changed (old and new words), one that is
    no longer found, and one whose testimony is no longer public. A quote
    that only moved is fine. Exit 1 on errors in quotes.yaml, and with
    --strict on warnings too.

    \b
    Examples:
      archive quotes check
      archive quotes check --strict --json
    """
    config = _config(ctx)
    ledger, warnings = _ledger_report(config, _load(ctx))
    if as_json:
        _echo_json({"quotes": len(ledger.quotes), "errors": [e.as_dict() for e in ledger.errors],
                    "warnings": [w.as_dict() for w in warnings]})  # fmt: skip
    else:
        for error in ledger.errors:
            click.echo(str(error), err=True)
        _echo_ledger_warnings(warnings)
        click.echo(f"{len(ledger.quotes)} quote(s) checked: {len(ledger.errors)} error(s), "
                   f"{len(warnings)} warning(s)")  # fmt: skip
    # As in validate: a ledger holding private words is never only a warning.
    if ledger.errors or (strict and warnings) or any(w.kind == "private" for w in warnings):
        ctx.exit(1)


@quotes.command("remove")
@click.argument("quote_id")
@click.pass_context
def quotes_remove(ctx: click.Context, quote_id: str) -> None:
    """Remove one quote from the ledger (its lines only; the rest of the file stays).

    Its short link stops working: remove only a quote that was never published.

    \b
    Example:
      archive quotes remove k7f3q2m
    """
    from .ledger import remove_quote

    quote = remove_quote(_config(ctx).testimonies, quote_id)
    click.echo(f"Removed {quote.id} ({quote.testimony}).")


@main.command("export")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", metavar="URL",
              help="Address the site will be published at, e.g. https://example.org/archive/ "
                   "(a sub-path is fine) [default: ARCHIVE_SITE_URL].")  # fmt: skip
@click.option("--force", is_flag=True, help="Replace OUT when it holds an earlier export.")
@click.option("--now", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Date embargoes are judged on [default: ARCHIVE_TODAY, then today].")  # fmt: skip
@click.option("--check", is_flag=True, help="Also prove every internal link and asset resolves.")
@click.option("--check-only", is_flag=True,
              help="Only check the links of the export already in OUT; write nothing.")  # fmt: skip
@click.option("--noindex", is_flag=True,
              help="Ask search engines not to index the site (robots.txt and a meta tag).")  # fmt: skip
@click.option("--preview", is_flag=True,
              help="Allow a --now after today: every page then says 'Preview, not for "
                   "publication' and carries noindex.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def export_command(
    ctx: click.Context,
    out: Path,
    base_url: str | None,
    force: bool,
    now,
    check: bool,
    check_only: bool,
    noindex: bool,
    preview: bool,
    as_json: bool,
) -> None:
    """Publish the public testimonies as a static website in OUT.

    Every page is rendered by the web app itself; search runs in the
    browser (Pagefind) and quote links work without a server. Nothing that
    is restricted, embargoed on the export date or redacted is written:
    every file is checked for it before OUT is replaced. The export refuses
    to run while any testimony fails validation; a file that cannot be read
    at all (a FIFO, a device, a link out of the directory, too large, not
    UTF-8) is left out with a warning instead. A --now after today is refused
    unless --preview marks the export as a preview.

    \b
    Examples:
      archive export site/ --base-url https://example.org/archive/ --check
      archive export site/ --force --now 2027-01-02 --preview
      archive export --check-only site/
    """
    from webapp.publish.export import check_site, export_site

    if check_only:
        links = check_site(out, base_url)
        if as_json:
            _echo_json({"links": links.links, "external": links.external,
                        "broken": [vars(b) for b in links.broken]})  # fmt: skip
        else:
            for broken in links.broken:
                click.echo(str(broken), err=True)
            click.echo(f"{links.links} internal links checked, {len(links.broken)} broken.")
        if not links.ok:
            ctx.exit(1)
        return
    report = export_site(
        out,
        _config(ctx),
        base_url=base_url,
        force=force,
        now=now.date() if now else None,
        check=check,
        noindex=noindex,
        preview=preview,
        progress=not as_json,
    )
    if as_json:
        _echo_json(
            {
                "out": str(report.out),
                "base_url": report.base_url,
                "testimonies": report.testimonies,
                "pages": report.pages,
                "files": report.files,
                "bytes": report.bytes,
                "indexed": report.indexed,
                "links_checked": report.links.links if report.links else None,
                "private_sequences_checked": report.leaks.needles if report.leaks else None,
                "timings": report.timings,
                "warnings": report.warnings,
            }
        )
    else:
        click.echo(report.summary())


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--id", "testimony_id", help="Id of the new testimony [default: from the file name].")
@click.option("--language", help="BCP 47 language tag [default: the transcript's, else en].")
@click.option("--media", help="The recording, a path inside the testimonies directory.")
@click.option("--format", "fmt", type=click.Choice(["vtt", "srt", "whisper", "ohms", "docx", "text"]),
              help="Input format [default: from the file name ending].")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print the testimony instead of writing it.")
@click.pass_context
def import_command(
    ctx: click.Context,
    files: tuple[Path, ...],
    testimony_id: str | None,
    language: str | None,
    media: str | None,
    fmt: str | None,
    dry_run: bool,
) -> None:
    """Turn transcripts (WebVTT, SRT, Whisper/WhisperX JSON, OHMS XML, .docx, text) into
    testimony files, each with status: restricted until an editor has reviewed it.

    Speaker labels become **Name:** turns; cues are merged into passages at speaker changes
    and pauses of 2 s or more; time codes are kept, and word times go to a private
    ID.words.json sidecar. An existing file is never overwritten. A malformed input is
    reported with its file:line and the other files are still imported.

    \b
    Examples:
      archive import interview.vtt --id officer-left-unit-2024 --media recordings/officer.opus
      archive import whisperx.json --language uk --dry-run
      archive import part1.srt part2.docx ohms-export.xml
    """
    from .errors import ValidationError, ValidationErrors
    from .importers.build import import_file

    if len(files) > 1 and (testimony_id or media):
        raise click.ClickException("--id and --media name one testimony: import one FILE")
    directory = _config(ctx).testimonies
    if not directory.is_dir():
        raise click.ClickException(f"{directory}: no such directory (set --testimonies DIR)")
    failed = 0
    for source in files:
        try:
            result = import_file(source, directory, testimony_id, language, media, fmt, dry_run)
        except ValidationErrors as exc:
            failed += 1
            for error in exc.errors:
                click.echo(f"{source}: the imported testimony would be invalid: {error}", err=True)
            continue
        except ValidationError as exc:
            failed += 1
            click.echo(str(exc), err=True)
            continue
        if dry_run:
            click.echo(result.markdown, nl=False)
            if result.sidecar is not None:
                words = sum(len(e["words"]) for e in result.sidecar["passages"])
                click.echo(f"(and {result.path.stem}.words.json: {words} timed words)", err=True)
        else:
            extra = f" and {result.testimony_id}.words.json" if result.sidecar else ""
            click.echo(f"{source} -> {result.path}{extra}: {result.passages} passages, "
                       "status: restricted (review it, then set status: public)")  # fmt: skip
        for note in result.notes:
            click.echo(f"  note: {note}", err=True)
        for suggestion in result.suggestions:
            click.echo(f"  theme suggestion: {suggestion}", err=True)
    if failed:
        ctx.exit(1)


def run() -> None:  # pragma: no cover - the console script
    main(prog_name="archive")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
