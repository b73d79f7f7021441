"""`archive serve` in a real subprocess on 127.0.0.1, and a small HTTP client for it.

The suites that need a server as users run it (leaks, hostile input, faults,
load) start it through here: the real command line, its own process (so its
latency is not the test's, and ``kill``/``/proc`` work on it), its stdout and
stderr kept in files for the tests to read afterwards. Only loopback is used.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Runs the real CLI with every logger at DEBUG on stderr, so a test sees all a
#: server could ever write to its log, not only what reaches the default level.
DEBUG_BOOT = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,"
    " format='%(asctime)s %(name)s %(levelname)s %(message)s')\n"
    "from archive.cli import main\n"
    "sys.exit(main(prog_name='archive'))\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(
    port: int,
    path: str,
    *,
    method: str = "GET",
    timeout: float = 10.0,
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request to 127.0.0.1:port; (status, headers, body). A given connection is reused."""
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        if connection is None:
            conn.close()


class ArchiveServer:
    """``archive --testimonies T --index I serve`` on a free loopback port.

    ``debug_logging`` runs the same command with every logger at DEBUG;
    ``env`` adds environment variables (``ARCHIVE_TODAY``...). Use as a
    context manager; :attr:`output` holds stdout and stderr once stopped.
    """

    def __init__(
        self,
        testimonies: Path,
        index: Path,
        workdir: Path,
        *,
        env: dict[str, str] | None = None,
        threads: int = 4,
        debug_logging: bool = False,
        start_timeout: float = 120.0,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = workdir / f"serve-{self.port}.out"
        self.stderr_path = workdir / f"serve-{self.port}.err"
        prefix = [sys.executable, "-c", DEBUG_BOOT] if debug_logging else [
            sys.executable, "-m", "archive"]  # fmt: skip
        self.command = [
            *prefix,
            "--testimonies", str(testimonies), "--index", str(index),
            "serve", "--host", "127.0.0.1", "--port", str(self.port), "--threads", str(threads),
        ]  # fmt: skip
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        self.output = ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> ArchiveServer:
        self._out = open(self.stdout_path, "wb")  # noqa: SIM115 - closed in stop()
        self._err = open(self.stderr_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self._out, stderr=self._err
        )
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                status, _, _ = fetch(self.port, "/robots.txt", timeout=5)
                if status == 200:
                    return self
            except OSError:
                pass
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"archive serve exited early:\n{self.output[-3000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"archive serve did not answer in time:\n{self.output[-3000:]}")
            time.sleep(0.1)

    def get(self, path: str, **kwargs) -> tuple[int, list[tuple[str, str]], bytes]:
        return fetch(self.port, path, **kwargs)

    def stop(self) -> str:
        """Stop the server (SIGTERM, then SIGKILL) and return everything it wrote."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for handle in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if handle is not None and not handle.closed:
                handle.close()
        parts = []
        for path in (self.stdout_path, self.stderr_path):
            if path.exists():
                parts.append(path.read_bytes().decode("utf-8", "replace"))
        self.output = "\n".join(parts)
        return self.output

    def __enter__(self) -> ArchiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
