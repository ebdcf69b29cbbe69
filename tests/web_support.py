"""Helpers for tests/test_web_*.py: a real uvicorn server for the web app in a background thread
(on a free loopback port) and a writable copy of the shared agent library."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread until the block ends; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def running_server(state, *, host: str = "127.0.0.1") -> Iterator[str]:
    """The web app over `state` (see `serving`). Writes the library's serve.json as `photoseek serve`
    does, so `photoseek ask` can find it."""
    import httpx

    from photoseek.web.app import create_app
    from photoseek.web.state import remove_server_file, write_server_file

    with serving(create_app(state), host=host) as url:
        write_server_file(Path(state.library.path), host, int(url.rsplit(":", 1)[1]), state.token)
        try:
            httpx.get(url + "/api/status", timeout=10).raise_for_status()
            yield url
        finally:
            remove_server_file(Path(state.library.path))


def copy_library(library_dir: Path, target: Path) -> Path:
    """A writable copy of a library folder (catalog, vectors, thumbnails) for tests that write."""
    shutil.copytree(library_dir, target, ignore=shutil.ignore_patterns("index.lock", "serve.json"))
    return target


@contextmanager
def photoseek_serve(argv: list[str], *, timeout_s: float = 60.0, env: dict | None = None
                    ) -> Iterator[tuple[str, "subprocess.Popen"]]:
    """A real `photoseek … serve` process (`argv`: the words after `photoseek`, without --port) on a
    free loopback port. Yields (base URL, process) once /api/status answers; then stops it with
    Ctrl-C (SIGINT), as a user does, and waits for it (its returncode is then set)."""
    import os
    import signal
    import subprocess
    import sys
    import tempfile

    import httpx

    port = free_port()
    log = tempfile.TemporaryFile()  # not a pipe: a chatty server would block once a pipe's buffer is full
    server = subprocess.Popen([sys.executable, "-m", "photoseek.cli", *argv, "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT,
                              env=dict(os.environ if env is None else env, PHOTOSEEK_PROGRESS="0"))  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if server.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"photoseek serve exited with {server.returncode}: {output}")
            try:
                if httpx.get(url + "/api/status", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"photoseek serve did not answer in {timeout_s:.0f} s")
            time.sleep(0.3)
        yield url, server
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
