"""Running the web app (`photoseek serve`) and finding a running one (`photoseek ask`).

A server writes <library>/serve.json (host, port, pid, token; owner-only) while it runs, so a
shell's `photoseek ask` can send its turn to the warm model instead of loading one; a file whose
process is gone, or a server that does not answer, is ignored and `ask` runs in-process.
"""

from __future__ import annotations

import secrets
import sys
import threading
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Sequence

from photoseek.config import serve_from_threads
from photoseek.errors import PhotoseekError
from photoseek.web.state import AppState, loopback_host, read_server_file, remove_server_file, write_server_file

if TYPE_CHECKING:
    from photoseek.library import Library


def serve(
    library: "Library",
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    allow_remote: bool = False,
    token: str | None = None,
    index: Sequence[str] = (),
    llm: Any = None,
    log_level: str = "warning",
    search_processes: int | None = None,
) -> None:
    """Serve the web app and API until interrupted. A host other than loopback needs
    allow_remote=True and then always a token (one is made and printed when none is given).
    `search_processes`: worker processes for /api/search (web.search_processes; default
    `default_search_processes()`, 0 for none)."""
    import uvicorn

    from photoseek.web.app import LOOPBACK_HOSTS, create_app

    loopback = loopback_host(host)
    if not loopback and not allow_remote:
        raise PhotoseekError(f"Serving on {host} lets other machines see your photos; add --allow-remote "
                             "(a token is then required) or use --host 127.0.0.1.")
    if not loopback and not token:
        token = secrets.token_urlsafe(24)
    serve_from_threads()  # before the warm-up below makes the inference sessions
    state = AppState(library, llm=llm, token=token)
    processes = default_search_processes() if search_processes is None else search_processes
    if processes > 0 and isinstance(library._embedder_spec, str):
        from photoseek.web.search_processes import SearchProcesses

        state.search_processes = SearchProcesses(library, processes)
        state.search_processes.start()
    app = create_app(state, allowed_hosts=LOOPBACK_HOSTS if loopback else ["*"])
    if index:
        state.start_index(list(index))
    threading.Thread(target=_warm, args=(state,), name="photoseek-warm", daemon=True).start()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    print(f"photoseek: serving {library.path} at {url}  (API docs: http://{shown}:{port}/docs; Ctrl-C stops)",
          file=sys.stderr, flush=True)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, limit_concurrency=128,
                            timeout_graceful_shutdown=2)
    @asynccontextmanager
    async def lifespan(_app):
        # in the app's lifespan, not around server.run(): uvicorn re-raises SIGTERM/SIGINT after
        # its graceful shutdown, so code after run() never runs when the server is stopped
        write_server_file(library.path, host, port, token)
        try:
            yield
        finally:
            remove_server_file(library.path)
            if state.search_processes is not None:
                state.search_processes.close()

    app.router.lifespan_context = lifespan
    uvicorn.Server(config).run()


def default_search_processes() -> int:
    """Worker processes for /api/search: 2 where there are 2 cores or more (measured best on 2 cores:
    3 or 4 workers answered fewer searches a second), none on one core."""
    import os

    return 2 if (os.cpu_count() or 1) >= 2 else 0


def _warm(state: AppState) -> None:
    """Load the search engine, then the model and its system prompt, before the first request."""
    try:
        state.warm()
        if state.has_llm():
            from photoseek.agent.session import Session

            with state.llm_lock:  # not registered as a conversation: only its model is warmed
                Session(state.library, state.llm if state.llm is not None else state.library.llm).warm_up()
    except Exception as exc:  # a model that cannot load is reported by the request that needs it
        print(f"photoseek: warm-up: {exc}", file=sys.stderr)


def ask_running_server(library_dir, message: str, *, explain: str = "evidence", timeout: float = 600.0
                       ) -> dict[str, Any] | None:
    """`photoseek ask` through a `photoseek serve` running for this library: the /api/ask response,
    or None when no server runs (or it does not answer; the caller then works in-process)."""
    import httpx

    info = read_server_file(library_dir)
    if info is None:
        return None
    host = info.get("host") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    headers = {"Authorization": f"Bearer {info['token']}"} if info.get("token") else {}
    try:
        response = httpx.post(f"http://{host}:{info['port']}/api/ask", json={"message": message, "explain": explain}, headers=headers,
                              timeout=httpx.Timeout(timeout, connect=1.0))
    except httpx.TransportError:
        return None
    if response.status_code != 200:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text
        if response.status_code in (400, 404, 422):
            raise PhotoseekError(str(detail))
        return None
    return response.json()


def results_from_dicts(items: list[dict[str, Any]]):
    """SearchResults rebuilt from their `to_dict()` JSON (to print a served answer like a local one)."""
    from dataclasses import fields

    from photoseek.results import Evidence, SearchResult

    names = {f.name for f in fields(Evidence)}
    out = []
    for item in items:
        evidence = Evidence(**{k: v for k, v in item.get("evidence", {}).items() if k in names})
        out.append(SearchResult(item["id"], item["path"], item["score"], evidence, item.get("explanation"),
                                match=item.get("match")))
    return out
