"""The export's search index: Pagefind over the testimony pages, made reproducible.

Pagefind (driven through its Python API) reads the written testimony pages
and writes its bundle to ``pagefind/``: the browser script and WebAssembly,
word index chunks, one fragment per page, one file per filter and a meta
file naming them all. Given the same pages, its fragments and word chunks
are byte-identical from run to run, but its filter files and meta file are
not: Pagefind writes filter values, and the list of filters, in the order
of a Rust ``HashMap``, which is randomised per process (Pagefind issue
#638: "other files will still change, such as the filter/metadata
indexes"). :func:`stabilise` therefore rewrites those few files in a
canonical order (filters by name, values by text), names them after a hash
of their content as Pagefind does, and updates the meta file and
``pagefind-entry.json`` to match. The browser reads the rewritten files
exactly as the originals: same data, other order. Each step checks that the
files decode and re-encode to the very bytes Pagefind wrote, so a future
Pagefind format change stops the export instead of corrupting the index.

Pagefind's service also answers "written" before its last file writes have
landed (they go through unflushed asynchronous files), and the Python API
ends the process right after: now and then a file stays empty or cut short.
:func:`index_site` therefore keeps the service running until the output is
quiet, checks that every file is whole, and builds again if one is not.

Pagefind has English word rules only; :func:`write_word_starts` writes, beside
its bundle, the table with which the search page finds the other forms of a
Russian or Ukrainian word as the archive's own search does
(:mod:`archive.wordforms`).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import shutil
import time
import zlib
from pathlib import Path
from typing import Any

from archive.errors import ExportError

__all__ = ["BUNDLE", "PAGEFIND_GLOB", "WORD_STARTS", "index_site", "stabilise", "write_word_starts"]

#: The directory of the site Pagefind writes its bundle to.
BUNDLE = "pagefind"
#: The directory of the word-start table, one JSON file per first two letters.
WORD_STARTS = "search-words"
#: Only these are indexed for search: the testimony pages.
PAGEFIND_GLOB = "t/*/index.html"
#: Pagefind's own user interfaces, which the site does not load (its search page has
#: its own script over Pagefind's JS API).
PAGEFIND_UNUSED = (
    "pagefind-ui.js",
    "pagefind-ui.css",
    "pagefind-modular-ui.js",
    "pagefind-modular-ui.css",
    "pagefind-component-ui.js",
    "pagefind-component-ui.css",
    "pagefind-highlight.js",
)
_MAGIC = b"pagefind_dcd"


# --- the CBOR subset Pagefind writes (unsigned and negative integers, text, arrays) -----------


def _decode(data: bytes, i: int = 0) -> tuple[Any, int]:
    head = data[i]
    major, info = head >> 5, head & 31
    i += 1
    if info < 24:
        value = info
    elif info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        value = int.from_bytes(data[i : i + size], "big")
        i += size
    else:
        raise ValueError(f"unsupported CBOR item 0x{head:02x}")
    if major == 0:
        return value, i
    if major == 1:
        return -1 - value, i
    if major == 3:
        return data[i : i + value].decode("utf-8"), i + value
    if major == 4:
        items = []
        for _ in range(value):
            item, i = _decode(data, i)
            items.append(item)
        return items, i
    raise ValueError(f"unsupported CBOR major type {major}")


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | info]) + value.to_bytes(size, "big")
    raise ValueError("integer too large for CBOR")


def _encode(value: Any) -> bytes:
    if isinstance(value, bool):
        raise ValueError("unsupported CBOR value")
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(_encode(v) for v in value)
    raise ValueError(f"unsupported CBOR value {type(value).__name__}")


def _read(path: Path) -> Any:
    raw = gzip.decompress(path.read_bytes())
    if not raw.startswith(_MAGIC):
        raise ExportError(f"{path.name} is not a Pagefind file this export can read")
    body = raw[len(_MAGIC) :]
    value, end = _decode(body)
    if end != len(body) or _encode(value) != body:
        raise ExportError(
            f"{path.name}: Pagefind's file format changed; its output cannot be made reproducible",
            hint="use the Pagefind version this archive was tested with (see pyproject.toml)",
        )
    return value


def _pack(old_name: str, value: Any) -> tuple[str, bytes]:
    """(a name like ``old_name`` from a hash of the content, the gzip-compressed file)."""
    body = _MAGIC + _encode(value)
    language = old_name.split("_", 1)[0]
    digits = len(old_name) - len(language) - 1
    name = f"{language}_{hashlib.sha256(body).hexdigest()[:digits]}"
    return name, gzip.compress(body, compresslevel=9, mtime=0)


def stabilise(bundle: Path) -> None:
    """Rewrite Pagefind's filter and meta files in a canonical order (see the module docstring)."""
    entry_path = bundle / "pagefind-entry.json"
    entry_text = entry_path.read_text(encoding="utf-8")
    entry = json.loads(entry_text)
    if json.dumps(entry, ensure_ascii=False, separators=(",", ":")) != entry_text.strip():
        raise ExportError("pagefind-entry.json: Pagefind's format changed; cannot rewrite it")
    for language in entry["languages"].values():
        meta_path = bundle / f"pagefind.{language['hash']}.pf_meta"
        meta = _read(meta_path)
        renamed = []
        for filter_name, old in sorted(meta[3], key=lambda f: f[0]):
            path = bundle / "filter" / f"{old}.pf_filter"
            name, values = _read(path)
            values.sort(key=lambda v: v[0])
            new, data = _pack(old, [name, values])
            path.unlink()
            (bundle / "filter" / f"{new}.pf_filter").write_bytes(data)
            renamed.append([filter_name, new])
        meta[3] = renamed
        new, data = _pack(language["hash"], meta)
        meta_path.unlink()
        (bundle / f"pagefind.{new}.pf_meta").write_bytes(data)
        language["hash"] = new
    entry_path.write_text(
        json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )


async def _settled(bundle: Path, quiet: float = 0.1, limit: float = 60.0) -> None:
    """Wait until no file of ``bundle`` is empty or still growing.

    Pagefind's service answers "files written" while its last writes may
    still be in flight (it writes through unflushed asynchronous files), and
    closing the service ends the process: a file caught then stays empty or
    cut short. So the service is kept alive until the directory is quiet.
    """
    deadline = time.monotonic() + limit
    previous: dict[Path, int] | None = None
    while time.monotonic() < deadline:
        sizes = {p: p.stat().st_size for p in bundle.rglob("*") if p.is_file()}
        if sizes == previous and all(sizes.values()):
            return
        previous = sizes
        await asyncio.sleep(quiet)


def _complete(bundle: Path) -> str | None:
    """Why the bundle is unusable (an empty, cut or unreadable file), or None."""
    script = bundle / "pagefind.js"
    if not script.is_file() or b"export{" not in script.read_bytes()[-2000:]:
        return "pagefind.js is missing or cut short"
    for path in sorted(bundle.rglob("*")):
        if path.suffix in (".pf_fragment", ".pf_index", ".pf_meta", ".pf_filter", ".pagefind"):
            try:
                gzip.decompress(path.read_bytes())
            except (OSError, EOFError, zlib.error):
                return f"{path.relative_to(bundle)} is empty or cut short"
    return None


def _run_pagefind(site: Path, bundle: Path) -> int:
    async def run() -> int:
        from pagefind.index import IndexConfig
        from pagefind.service import PagefindService

        service = await PagefindService().launch()
        try:
            index = await service.create_index(IndexConfig(force_language="en"))
            result = await index.add_directory(str(site), glob=PAGEFIND_GLOB)
            await index.write_files(str(bundle))
            await _settled(bundle)
        finally:
            await service.close()
        return int(result["page_count"])

    try:
        return asyncio.run(run())
    except FileNotFoundError as exc:
        raise ExportError(
            f"Pagefind is not available: {exc}",
            hint="install the pagefind package with its binary: pip install 'pagefind[bin]'",
        ) from None


def index_site(site: Path, attempts: int = 2) -> int:
    """Index the testimony pages of ``site`` with Pagefind; returns the pages indexed.

    The bundle is checked whole (every compressed file decompresses) before
    it is made reproducible; a damaged one is built again.
    """
    bundle = site / BUNDLE
    problem = None
    for _ in range(attempts):
        shutil.rmtree(bundle, ignore_errors=True)
        count = _run_pagefind(site, bundle)
        problem = _complete(bundle)
        if problem is None:
            break
    else:
        raise ExportError(f"Pagefind wrote a damaged search bundle: {problem}")
    for name in PAGEFIND_UNUSED:
        (bundle / name).unlink(missing_ok=True)
    stabilise(bundle)
    return count


def write_word_starts(site: Path, table: dict[str, dict[str, str]]) -> None:
    """Write the word-start table (:func:`archive.wordforms.chunks`), a file per part."""
    folder = site / WORD_STARTS
    folder.mkdir()
    for name, part in table.items():
        text = json.dumps(part, ensure_ascii=False, separators=(",", ":"))
        (folder / f"{name}.json").write_text(text, encoding="utf-8")
