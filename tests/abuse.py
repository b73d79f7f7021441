"""Query abuse over HTTP: the requests a hostile client sends, and a harness that sends them
while normal searches go on (used by test_hostile on the samples and test_load on the corpus)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlencode

from archive_server import ArchiveServer, fetch

LATENCY_BOUND = 1.5  # the goal is 1 s; the rest is for a shared, noisy machine


def abusive_requests() -> list[tuple[str, str | bytes]]:
    """(label, request target): str targets are sent as is, bytes raw on the request line."""
    deep = "(" * 2000 + "master" + ")" * 2000
    requests: list[tuple[str, str | bytes]] = [
        ("bare wildcard", "/search.json?q=*"),
        ("leading wildcard", "/search.json?q=*aster"),
        ("infix wildcard", "/search.json?q=m*r"),
        ("one-letter prefix", "/search.json?q=m*"),
        ("three-letter prefix", "/search.json?q=the*"),
        ("32 prefixes OR'ed", "/search.json?" + urlencode(
            {"q": " OR ".join(f"{a}{b}{c}*" for a in "stwb" for b in "aeio" for c in "lr")})),
        ("32 prefixes AND'ed", "/search.json?" + urlencode(
            {"q": " ".join(f"{a}{b}{c}*" for a in "stwb" for b in "aeio" for c in "nr")})),
        ("question mark", "/search.json?q=ma%3Fter"),
        ("fuzzy", "/search.json?q=master~2"),
        ("fuzzy bare", "/search.json?q=~"),
        ("fuzzy phrase", "/search.json?" + urlencode({"q": '"old master"~10'})),
        ("10 KB query", "/search.json?q=" + "a" * 10_240),
        ("10 KB of words", "/search.json?" + urlencode({"q": "master " * 1463})),
        ("10 KB quote", "/quote.json?" + urlencode({"text": "master said " * 900})),
        ("2,000 nested parentheses", "/search.json?" + urlencode({"q": deep})),
        ("240 nested parentheses", "/search.json?" + urlencode(
            {"q": "(" * 240 + "a" + ")" * 240})),
        ("unbalanced", "/search.json?" + urlencode({"q": ")))(((master"})),
        ("NUL", "/search.json?q=mas%00ter"),
        ("control characters", "/search.json?q=%01%02%1b%7f%08master"),
        ("NUL in quote", "/quote.json?text=the%00master"),
        ("lone surrogate", "/search.json?q=%ED%A0%80"),
        ("invalid UTF-8 escaped", "/search.json?q=%FF%FE%C3%28"),
        ("invalid UTF-8 raw", b"/search.json?q=\xff\xfe\xc3\x28master"),
        ("invalid UTF-8 raw path", b"/t/\xff\xfe/"),
        ("raw bytes in the page", b"/search.json?q=master&page=\xc0\xaf"),
        ("huge page", "/search.json?q=master&page=" + "9" * 40),
        ("page past the end", "/search.json?q=master&page=9999"),
        ("negative page", "/search.json?q=master&page=-1"),
        ("page as a float", "/search.json?q=master&page=1e9"),
        ("huge listing page", "/browse/language/en.json?page=" + "9" * 30),
        ("many parameters", "/search.json?" + "&".join(f"theme=x{i}" for i in range(200))),
        ("many words", "/search.json?" + urlencode({"q": " ".join(f"w{i}" for i in range(200))})),
        ("long word", "/search.json?" + urlencode({"q": "m" * 480})),
        ("many phrases", "/search.json?" + urlencode({"q": ' '.join(['"the old master"'] * 30)})),
        ("date range", "/search.json?" + urlencode({"q": "date:0001..9999 master"})),
        ("theme junk", "/search.json?" + urlencode({"q": "theme:" + "x" * 60})),
        ("anchor junk", "/t/wpa-al-aarons-charlie/?a=" + "9-9~" * 2000),
        ("anchor offsets", "/t/wpa-al-aarons-charlie/anchor.json?start=0&end=" + "9" * 40),
        ("all prefixes", "/search.json?" + urlencode({"q": "abc* abd* abe* abf* abg*"})),
        ("empty OR", "/search.json?" + urlencode({"q": "OR OR OR AND NOT -"})),
    ]  # fmt: skip
    return requests


class _RawConnection(http.client.HTTPConnection):
    """http.client, but the request line goes out byte for byte (invalid UTF-8 included)."""

    def _validate_path(self, url):  # noqa: D401 - http.client's hook
        return None

    def _encode_request(self, request):
        return request.encode("latin-1")


def send_raw(port: int, target: str | bytes, timeout: float = 30) -> tuple[int, bytes]:
    conn = _RawConnection("127.0.0.1", port, timeout=timeout)
    try:
        line = target.decode("latin-1") if isinstance(target, bytes) else target
        conn.putrequest("GET", line)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def abuse_server(server: ArchiveServer, requests, bound: float) -> dict:
    """Send every abusive request while a thread runs normal searches; return the timings."""
    stop = threading.Event()
    normal: list[tuple[int, float, int]] = []

    def searching() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        words = ["master", "cotton", "church", "freedom", "river"]
        for n in range(2000):  # bounded in count; stopped by the event much sooner
            if stop.is_set():
                break
            start = time.perf_counter()
            try:
                status, _, body = fetch(server.port, f"/search.json?q={words[n % 5]}",
                                        connection=conn)  # fmt: skip
                total = json.loads(body)["total"] if status == 200 else -1
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                status, total = 0, -1
            normal.append((status, time.perf_counter() - start, total))
            time.sleep(0.01)
        conn.close()

    thread = threading.Thread(target=searching, daemon=True)
    thread.start()
    timings, failures = {}, []
    try:
        for label, target in requests:
            start = time.perf_counter()
            status, body = send_raw(server.port, target)
            elapsed = time.perf_counter() - start
            timings[label] = (status, elapsed)
            answered = b'"total"' in body or b'"matches"' in body
            ok = 400 <= status < 500 or (status == 200 and answered)
            if not ok or elapsed > bound or b"Traceback" in body:
                failures.append(f"{label}: {status} in {elapsed:.2f} s: {body[:200]!r}")
    finally:
        stop.set()
        thread.join(timeout=60)
    bad_normal = [n for n in normal if n[0] != 200 or n[2] <= 0]
    return {
        "timings": timings,
        "failures": failures,
        "normal": normal,
        "bad_normal": bad_normal,
        "max": max(t for _, t in timings.values()),
        "normal_max": max((t for _, t, _ in normal), default=0.0),
    }


def abuse_and_check(server: ArchiveServer, requests, label: str) -> dict:
    """:func:`abuse_server` within :data:`LATENCY_BOUND`: prints the timings after ``label``
    and fails on any abusive request badly answered or any normal search that failed."""
    result = abuse_server(server, requests, LATENCY_BOUND)
    slowest = max(result["timings"].items(), key=lambda kv: kv[1][1])
    print(
        f"\n{label}: {len(result['timings'])} requests, max {result['max'] * 1000:.0f} ms "
        f"({slowest[0]}); {len(result['normal'])} normal searches meanwhile, "
        f"max {result['normal_max'] * 1000:.0f} ms"
    )
    assert result["failures"] == []
    assert result["bad_normal"] == []
    return result
