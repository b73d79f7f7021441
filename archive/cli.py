"""The ``archive`` command line: thin click commands over the library.

Each command parses its options, calls one library function and formats the
result, as text for people or ``--json`` for scripts. Errors a user can fix
are printed as ``path:line: message`` without a traceback.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from .config import Config, resolve_config
from .errors import ArchiveError
from .model import Archive
from .parse import iter_testimony_files, load_archive
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
      archive search 'furlough "sent home"'
    """
    ctx.obj = resolve_config(testimonies=testimonies, index=index_dir)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Check testimony files against the format; exit 1 if any has errors.

    Without PATHS, checks the whole archive (and its themes.yaml). Each
    problem is printed as FILE:LINE: message (hint).

    \b
    Examples:
      archive validate
      archive validate testimonies/officer-left-unit-2023.md
      archive validate --json | jq '.errors[].message'
    """
    config = _config(ctx)
    files = [f for p in paths for f in (iter_testimony_files(p) if p.is_dir() else [p])] or None
    archive = load_archive(config.testimonies, paths=files)
    checked = (
        len(files) if files is not None else len(list(iter_testimony_files(config.testimonies)))
    )
    if as_json:
        _echo_json(
            {
                "checked": checked,
                "valid": len(archive.testimonies),
                "errors": [e.as_dict() for e in archive.errors],
            }
        )
    else:
        for error in archive.errors:
            click.echo(str(error), err=True)
        files_with_errors = len({e.path for e in archive.errors})
        click.echo(
            f"{checked} file(s) checked: {len(archive.testimonies)} valid, "
            f"{len(archive.errors)} error(s) in {files_with_errors} file(s)"
        )
    if archive.errors:
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


def run() -> None:  # pragma: no cover - the console script
    main(prog_name="archive")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
