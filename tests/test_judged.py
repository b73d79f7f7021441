"""bench/judged.yaml stays usable: known testimonies, the split rule, quotes with one source."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from archive.parse import load_archive

ROOT = Path(__file__).resolve().parent.parent
WPA = ROOT.parent / "shared" / "corpus" / "wpa"
JUDGED = yaml.safe_load((ROOT / "bench" / "judged.yaml").read_text(encoding="utf-8"))["queries"]


def test_every_kind_is_there_and_every_third_is_held_out():
    by_kind = defaultdict(list)
    for item in JUDGED:
        assert set(item) == {"kind", "query", "about", "relevant", "corpus", "split"}, item
        by_kind[item["kind"]].append(item)
    assert set(by_kind) == {"descriptive", "name", "quote"} and len(JUDGED) >= 48
    for items in by_kind.values():
        assert {i["corpus"] for i in items} == {"wpa", "samples"}
        # "fresh" queries were judged later, never tuned on: their own split.
        fresh = [i for i in items if i["split"] == "fresh"]
        assert len(fresh) >= 5 and {i["corpus"] for i in fresh} == {"wpa", "samples"}
        for n, item in enumerate(i for i in items if i["split"] != "fresh"):
            assert item["split"] == ("holdout" if n % 3 == 2 else "tune"), item["query"]


def test_quotes_have_one_source_and_a_remembered_length():
    for item in (i for i in JUDGED if i["kind"] == "quote"):
        assert len(item["relevant"]) == 1 and 8 <= len(item["query"].split()) <= 25, item


def test_sample_judgments_name_public_samples():
    public = {t.id for t in load_archive(ROOT / "testimonies").public()}
    for item in (i for i in JUDGED if i["corpus"] == "samples"):
        assert item["relevant"] and set(item["relevant"]) <= public, item["query"]


@pytest.mark.skipif(not WPA.is_dir(), reason=f"no WPA corpus at {WPA}")
def test_wpa_judgments_name_corpus_files():
    ids = {p.stem for p in WPA.glob("*.md")}
    for item in (i for i in JUDGED if i["corpus"] == "wpa"):
        missing = [r for r in item["relevant"] if r not in ids]
        assert item["relevant"] and not missing, (item["query"], missing)
        assert len(set(item["relevant"])) == len(item["relevant"]), item["query"]
