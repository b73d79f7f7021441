"""The one canary set: made-up words planted wherever a secret can be kept, and the finders.

Each word stands for one way a text is withheld (an inline redaction, a redacted passage, a
restricted or an embargoed testimony, an inline redaction inside an embargoed one), in English,
Russian and Ukrainian. :func:`write_canary_archive` writes the testimonies that plant them; other
archives (the web tests', the search tests') plant the same words with :func:`canary_word`, so
every leak test looks for one set of words. :func:`canaries_in` finds a word in any case and
normal form, decoded; :func:`canaries_in_bytes` inside compressed parts of a file too.
"""

from __future__ import annotations

import contextlib
import gzip
import html
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from helpers import write_archive

from archive.analysis import analyze, fold


@dataclass(frozen=True)
class Canary:
    word: str  # as written in the testimony file
    language: str
    kind: str  # inline, passage, restricted, embargoed, embargoed-inline

    @property
    def public_after_lift(self) -> bool:
        return self.kind == "embargoed"

    @property
    def needles(self) -> frozenset[str]:
        """Every folded form the word may take in output: whole, stemmed, its 7-letter start."""
        folded = fold(self.word)
        forms = {folded, folded[:7], *analyze(self.word, self.language)}
        forms |= set(analyze(self.word, "other"))
        return frozenset(f for f in forms if len(f) >= 5)


CANARIES = (
    Canary("QZXcanaryens", "en", "inline"),
    Canary("QzxWholeEN", "en", "passage"),
    Canary("Qzxrestrictden", "en", "restricted"),
    Canary("qzxrestrictdru", "en", "restricted"),  # the ids of the ru and uk files
    Canary("qzxrestrictduk", "en", "restricted"),
    Canary("Qzxembargoen", "en", "embargoed"),
    Canary("qzxembargoru", "en", "embargoed"),
    Canary("qzxembargouk", "en", "embargoed"),
    Canary("qzxembinlineen", "en", "embargoed-inline"),
    Canary("Щюканарейкой", "ru", "inline"),
    Canary("Щюжёлтоптица", "ru", "passage"),
    Canary("Щюзакрытыйка", "ru", "restricted"),
    Canary("Щюэмбаргоня", "ru", "embargoed"),
    Canary("щюэмбинлайн", "ru", "embargoed-inline"),
    Canary("ґїканарковій", "uk", "inline"),
    Canary("Ґїцілапташка", "uk", "passage"),
    Canary("Ґїзакритка", "uk", "restricted"),
    Canary("Ґїембаргочка", "uk", "embargoed"),
    Canary("ґїембінлайн", "uk", "embargoed-inline"),
)
NEVER = tuple(c for c in CANARIES if not c.public_after_lift)
EMBARGOED = tuple(c for c in CANARIES if c.public_after_lift)


#: The English words the web tests' archive (tests/e2e_helpers.py) plants, one per kind. Not
#: the Q-words above: the static search matches any word that starts with "q" to the public
#: word "Q" of "**Q:**", so "Nothing found" could not be asserted for them there.
WEB = {
    "inline": "CANARYINLINE7731",
    "passage": "CANARYWHOLE7731",
    "restricted": "CANARYRESTRICTED7731",
    "embargoed": "CANARYEMBARGO7731",
}


#: Words said in public that a later edit withholds (the testimony restricted, the passage
#: redacted): an index must forget them once it is rebuilt.
LATER = {
    "en": {"restricted": "grubnoxious", "redacted": "vexillorium"},
    "ru": {"restricted": "грубноксий", "redacted": "вексиллорий"},
    "uk": {"restricted": "гробнуксія", "redacted": "вексорилка"},
}


def canary_word(language: str, kind: str) -> str:
    return next(c.word for c in CANARIES if c.language == language and c.kind == kind)


PUBLIC = {
    "en": """---
id: public-en
title: "A sapper on the riverbank"
narrator: "Pavlo (pseudonym)"
interviewer: "Newsroom staff"
date: 2023-11-14
place: "Kherson region"
language: en
status: public
source: "Written for the leak tests"
license: "CC BY 4.0"
themes: [leaving-service]
---

**Q:** Where did you serve?

**A:** In the [QZXcanaryens brigade]{.redact} near the riverbank, for two winters.
{: #served themes="furlough" }

**A:** My commander QzxWholeEN signed the papers at night.
{: .redact }

**A:** Then I went home on furlough and never returned to the riverbank.
""",
    "ru": """---
id: public-ru
title: "Сапёр у переправы"
narrator: "Павел (псевдоним)"
date: 2023-11-15
place: "Херсонская область"
language: ru
status: public
themes: [leaving-service]
---

**Вопрос:** Где вы служили?

**Ответ:** В [Щюканарейкой бригаде]{.redact} у переправы, две зимы.
{: #served themes="furlough" }

**Ответ:** Командир Щюжёлтоптица подписал бумаги ночью.
{: .redact }

**Ответ:** Потом я уехал в отпуск и не вернулся к переправе.
""",
    "uk": """---
id: public-uk
title: "Сапер біля переправи"
narrator: "Павло (псевдонім)"
date: "2024"
place: "Херсонська область"
language: uk
status: public
themes: [hiding]
---

**Питання:** Де ви служили?

**Відповідь:** У [ґїканарковій бригаді]{.redact} біля переправи, дві зими.
{: #served themes="hiding" }

**Відповідь:** Командир Ґїцілапташка підписав папери вночі.
{: .redact }

**Відповідь:** Потім я поїхав у відпустку й не повернувся до переправи.
""",
}

RESTRICTED_IDS = {
    "en": "qzxrestrictden-account",
    "ru": "qzxrestrictdru-account",
    "uk": "qzxrestrictduk-account",
}
EMBARGOED_IDS = {"en": "qzxembargoen-account", "ru": "qzxembargoru-account",
                 "uk": "qzxembargouk-account"}  # fmt: skip
WITHHELD_BODY = {
    "en": "The furlough was refused, said {word}, and I walked out of the unit at the riverbank.",
    "ru": "В отпуске отказали, сказал {word}, и я ушёл из части у переправы.",
    "uk": "У відпустці відмовили, сказав {word}, і я пішов з частини біля переправи.",
}


def _withheld(language: str, testimony_id: str, word: str, status: str, extra: str = "") -> str:
    after = "publish_after: 2030-06-30\n" if status == "embargoed" else ""
    return (
        f'---\nid: {testimony_id}\ntitle: "An account of {word}"\nnarrator: "{word}"\n'
        f'interviewer: "{word} interviewer"\ndate: 2019-05-02\nplace: "{word} valley"\n'
        f'language: {language}\nstatus: {status}\n{after}source: "{word} papers"\n'
        f'license: "CC BY 4.0"\nthemes: [desertion]\n---\n\n'
        f"**Q:** {word}?\n\n**A:** {WITHHELD_BODY[language].format(word=word)}\n{extra}"
    )


def canary_testimonies() -> dict[str, str]:
    """The testimonies that plant every canary: id -> the whole file."""
    files = {f"public-{language}": text for language, text in PUBLIC.items()}
    for language, testimony_id in RESTRICTED_IDS.items():
        word = canary_word(language, "restricted")
        files[testimony_id] = _withheld(language, testimony_id, word, "restricted")
    for language, testimony_id in EMBARGOED_IDS.items():
        word = canary_word(language, "embargoed")
        secret = canary_word(language, "embargoed-inline")
        extra = f"\n**A:** They called it [{secret} crossing]{{.redact}} after the war.\n"
        files[testimony_id] = _withheld(language, testimony_id, word, "embargoed", extra)
    return files


def write_canary_archive(directory: Path) -> Path:
    return write_archive(directory, canary_testimonies())


# --- finding canaries in any form --------------------------------------------------------

_U_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_WORD = re.compile(r"\w+")


def _decoded(text: str) -> str:
    """``text`` as a reader sees it: HTML entities, percent-encoding (repeated) and JSON
    ``\\u`` escapes undone. Undoing them never hides a word that was plain already."""
    text = html.unescape(text)
    for _ in range(4):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return _U_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def canaries_in(text: str, canaries=CANARIES, typed: tuple[str, ...] = ()) -> set[str]:
    """Which canaries ``text`` shows in any form, not counting the words the client typed."""
    echo = {w for t in typed for w in _WORD.findall(fold(_decoded(t)))}
    words = " ".join(w for w in _WORD.findall(fold(_decoded(text))) if w not in echo)
    return {c.word for c in canaries if any(needle in words for needle in c.needles)}


def canaries_in_bytes(data: bytes, canaries=CANARIES) -> set[str]:
    """Canaries in a file's bytes, inside zlib/gzip-compressed parts too."""
    found = set()
    blobs = [data, *decompressed_parts(data)]
    if data[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, EOFError):
            blobs.append(gzip.decompress(data))
    for blob in blobs:
        text = blob.decode("utf-8", "replace")
        found |= canaries_in(text, canaries)
        lowered = blob.lower()
        for canary in canaries:
            if any(n.encode() in lowered for n in canary.needles):
                found.add(canary.word)
    return found


def decompressed_parts(data: bytes) -> list[bytes]:
    """Whoosh zlib-compresses posting blocks and small columns: look inside those too."""
    parts = []
    for match in re.finditer(rb"\x78[\x01\x5e\x9c\xda]", data):
        try:
            parts.append(zlib.decompressobj().decompress(data[match.start() :]))
        except zlib.error:
            continue
    return parts
