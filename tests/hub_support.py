"""A stand-in for the Hugging Face Hub on 127.0.0.1, for download tests without a network.

It serves folders the test built as repositories, with the hub's resolve URLs and the headers that
huggingface_hub's `hf_hub_download` reads (X-Repo-Commit, ETag, Content-Length; X-Error-Code for an
unknown repository or file), so photoseek's real download code runs against it through
`HF_ENDPOINT`. Only loopback: nothing leaves the machine. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FakeHub:
    def __init__(self, repos: dict[str, Path]):
        self.repos = dict(repos)
        self.requests: list[tuple[str, str]] = []  # (method, path)
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_HEAD(self):  # noqa: N802 - http.server's naming
                hub._serve(self, body=False)

            def do_GET(self):  # noqa: N802
                hub._serve(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeHub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def commit(repo: str) -> str:
        return hashlib.sha1(repo.encode()).hexdigest()

    def _serve(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        path = urllib.parse.urlsplit(handler.path).path
        self.requests.append((handler.command, path))
        parts = path.strip("/").split("/")
        # /{org}/{name}/resolve/{revision}/{file...}
        if len(parts) < 5 or parts[2] != "resolve":
            return self._error(handler, 404, "Entry not found", None)
        repo, filename = "/".join(parts[:2]), "/".join(parts[4:])
        folder = self.repos.get(repo)
        if folder is None:  # the Hub answers 401 RepoNotFound for unknown (or private) repositories
            return self._error(handler, 401, "Repository not found", "RepoNotFound")
        file = folder / filename
        if not file.is_file():
            return self._error(handler, 404, "Entry not found", "EntryNotFound", self.commit(repo))
        data = file.read_bytes()
        handler.send_response(200)
        handler.send_header("X-Repo-Commit", self.commit(repo))
        handler.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Content-Type", "application/octet-stream")
        handler.end_headers()
        if body:
            handler.wfile.write(data)

    @staticmethod
    def _error(handler, status: int, message: str, code: str | None, commit: str | None = None) -> None:
        data = ('{"error": "%s"}' % message).encode()
        handler.send_response(status)
        if code:
            handler.send_header("X-Error-Code", code)
        if commit:
            handler.send_header("X-Repo-Commit", commit)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)
