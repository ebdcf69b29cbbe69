"""The HTTP API's speed beside the in-process figure, at 10k photos.

Builds the synthetic 10k library bench/search.py builds (ConSE-shaped vectors, synthetic tags,
captions, time of day, faces), starts `photoseek serve` on a loopback port as a subprocess, then:
  - text search: `Library.search` in-process (one at a time, and from 8 threads at once) vs
    `GET /api/search` from 1 client and from 8 concurrent clients (threads with keep-alive
    connections), p50/p95, requests/s and the server's CPU per request (its search processes'
    included: `--search-processes N` is passed on, 0 to search in the server process); then, when `wrk` is
    installed (Debian: apt-get install wrk), the same 8 clients as 8 wrk connections, a load
    generator that costs the shared 2 cores almost nothing (the Python clients take ~4 ms of CPU a
    request). Every phase searches captions no other phase searched, so no cache helps;
  - ask (unless --no-llm): time to the first result (the `results` event of /api/ask/stream) and
    to the whole answer over HTTP, beside `Session.ask` in this process (its `results` timing),
    both warm (one turn first).

    .venv/bin/python bench/serve.py                 # 10k photos, default LLM
    .venv/bin/python bench/serve.py --no-llm --queries 200

Goal: API text search p50 <= 50 ms under 8 concurrent clients.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import json
import random
import shutil
import statistics
import subprocess
import urllib.parse
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_search", REPO_ROOT / "bench" / "search.py")
bench_search = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_search)

ASK_TURNS = ["dogs playing outside", "a red bus on a city street", "pizza on a table", "food at night"]


def percentiles(seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):7.1f} ms  p95 {np.percentile(ms, 95):7.1f} ms"


def caption_texts(n: int) -> list[str]:
    """`n` distinct COCO captions (all five of each photo), in a fixed shuffled order; synthetic
    phrases where the data is missing."""
    texts: list[str] = []
    if bench_search.CAPTIONS.exists():
        rows = [json.loads(line) for line in bench_search.CAPTIONS.open()]
        texts = list(dict.fromkeys(c.strip() for row in rows for c in row["captions"]))
        random.Random(0).shuffle(texts)
    texts += [f"a photo of a dog number {i}" for i in range(max(0, n - len(texts)))]
    return texts[:n]


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds so far of a process and its live children (the server's search
    processes), from Linux /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that ended meanwhile
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def wrk_search(url: str, texts: list[str], clients: int, seconds: int, scratch: Path) -> dict | None:
    """`wrk` with `clients` connections on one thread for `seconds`, each request the next text of
    `texts` (a Lua script); None when wrk is not installed. Returns p50/p90/p99 ms, requests/s, the
    number of requests and whether the texts ran out (then some were searched twice)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    paths = ["/api/search?" + urllib.parse.urlencode({"text": t, "k": 10}) for t in texts]
    script = scratch / "search.lua"
    script.write_text("paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n" + """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[((counter - 1) % #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("PHOTOSEEK %d %.3f %.3f %.3f %d\\n", summary.requests,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
""")
    out = subprocess.run([wrk, "-t1", f"-c{clients}", f"-d{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next(l for l in out.splitlines() if l.startswith("PHOTOSEEK "))
    requests, p50, p90, p99, bad = line.split()[1:]
    if int(bad):
        raise SystemExit(f"wrk: {bad} requests failed")
    return {"requests": int(requests), "p50": float(p50), "p90": float(p90), "p99": float(p99),
            "per_second": int(requests) / seconds, "wrapped": int(requests) > len(paths)}


def build(n: int, scratch: Path) -> Path:
    rng = np.random.default_rng(0)
    labels, _ = bench_search.label_vectors(rng)
    library = scratch / "library"
    vectors, picks = bench_search.conse_like(n, labels, rng)
    bench_search.fill_catalog(library, vectors).close()
    bench_search.add_annotations(library, picks, rng)
    return library


def start_server(library: Path, port: int, llm: str, search_processes: int | None) -> tuple[subprocess.Popen, int]:
    """The server, once it answers and its search processes (if any) are warm; with their number."""
    import httpx

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "photoseek", "--library", str(library), "--llm", llm, "serve", "--port", str(port)]
    if search_processes is not None:
        command += ["--search-processes", str(search_processes)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            status = httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=2)
            if status.status_code == 200:
                workers = status.json().get("search_processes", 0)
                if workers or search_processes == 0 or time.monotonic() > deadline - 90:
                    return process, workers
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start: " + (process.stderr.read() if process.stderr else ""))


def run_concurrently(texts: list[str], clients: int, worker) -> tuple[list[float], float]:
    """`clients` threads, each running `worker(share, record)` over its share of the queries (where
    `record(seconds)` keeps one request's latency); returns the latencies and the wall time."""
    times: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            times.append(seconds)

    threads = [threading.Thread(target=worker, args=(texts[i::clients], record)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, time.perf_counter() - started


def http_search(url: str, texts: list[str], clients: int) -> tuple[list[float], float]:
    """Each of `clients` threads sends its share of the queries one after another; returns the
    per-request latencies and the wall time."""
    import httpx

    def worker(share: list[str], record) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            for text in share:
                started = time.perf_counter()
                response = client.get("/api/search", params={"text": text, "k": 10})
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                assert response.json()["results"], "an API search came back empty"
                record(elapsed)

    return run_concurrently(texts, clients, worker)


def in_process_concurrent(lib, texts: list[str], clients: int) -> tuple[list[float], float]:
    """`Library.search` from `clients` threads at once (one Library, as the server has)."""

    def worker(share: list[str], record) -> None:
        for text in share:
            started = time.perf_counter()
            lib.search(text, k=10)
            record(time.perf_counter() - started)

    return run_concurrently(texts, clients, worker)


def ask_over_http(url: str, message: str) -> tuple[float, float]:
    """(seconds to the `results` event, seconds to the `answer` event) of one streamed turn, with the
    model's explanations as the web page asks for them."""
    import httpx

    started = time.perf_counter()
    first = None
    with httpx.stream("POST", url + "/api/ask/stream", json={"message": message, "explain": "model"},
                      timeout=600) as response:
        for line in response.iter_lines():
            if line == "event: results" and first is None:
                first = time.perf_counter() - started
            if line == "event: answer":
                break
    total = time.perf_counter() - started
    return (first if first is not None else total), total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=160)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--llm", default="llamacpp")
    parser.add_argument("--wrk-seconds", type=int, default=15, help="length of the wrk phase (when wrk is installed)")
    parser.add_argument("--no-llm", action="store_true", help="skip the ask figures")
    parser.add_argument("--search-processes", type=int, metavar="N",
                        help="passed to `photoseek serve` (default: its own, 2 on 2 or more cores; 0: none)")
    args = parser.parse_args()

    # wrk cycles through real captions when it runs out (no result cache, so a repeat costs what the
    # first did); the synthetic fillers past the 2,305 captions are shorter, cheaper queries
    texts = caption_texts(4 * args.queries + args.wrk_seconds * 100)
    phase = [texts[i * args.queries:(i + 1) * args.queries] for i in range(4)]
    for_wrk = texts[4 * args.queries:]
    scratch = Path(tempfile.mkdtemp(prefix="photoseek-bench-serve-"))
    server = None
    try:
        started = time.perf_counter()
        library = build(args.photos, scratch)
        print(f"{args.photos:,} synthetic photos built in {time.perf_counter() - started:.0f} s; "
              f"{args.queries} COCO-caption queries a phase, none searched twice; {os.cpu_count()} CPU cores, "
              f"load {os.getloadavg()[0]:.1f}")

        from photoseek.library import Library

        with Library(library, llm=None) as lib:
            lib.per_thread_connections()  # as the server's Library
            lib.search("warm up", k=10)
            inproc = []
            for text in phase[0]:
                t0 = time.perf_counter()
                lib.search(text, k=10)
                inproc.append(time.perf_counter() - t0)
            threaded, wall = in_process_concurrent(lib, phase[1], args.clients)
        print(f"text search, in-process Library.search      {percentiles(inproc)}  {len(inproc) / sum(inproc):6.1f} req/s")
        print(f"text search, in-process, {args.clients} threads at once  {percentiles(threaded)}  {len(threaded) / wall:6.1f} req/s  "
              "(the same CPU bound as the server meets)")

        server, workers = start_server(library, args.port, "none" if args.no_llm else args.llm, args.search_processes)
        print(f"server: {workers} search process{'es' if workers != 1 else ''}"
              f"{' (searches run in the server process)' if not workers else ''}; server CPU counts them too")
        url = f"http://127.0.0.1:{args.port}"
        http_search(url, [f"warm up {i}" for i in range(20)], 1)  # the server's engine and connections
        cpu = server_cpu_seconds(server.pid)
        one, one_wall = http_search(url, phase[2], 1)
        one_cpu, cpu = (server_cpu_seconds(server.pid) - cpu) / len(one), server_cpu_seconds(server.pid)
        print(f"text search, HTTP, 1 client                 {percentiles(one)}  {len(one) / one_wall:6.1f} req/s  "
              f"server CPU {one_cpu * 1000:4.1f} ms/req  (x{statistics.median(one) / statistics.median(inproc):.2f} of in-process p50)")
        many, wall = http_search(url, phase[3], args.clients)
        many_cpu = (server_cpu_seconds(server.pid) - cpu) / len(many)
        print(f"text search, HTTP, {args.clients} concurrent clients    {percentiles(many)}  {len(many) / wall:6.1f} req/s  "
              f"server CPU {many_cpu * 1000:4.1f} ms/req  (x{statistics.median(many) / statistics.median(inproc):.2f} of in-process p50)"
              "   [goal p50 <= 50 ms]")
        cpu = server_cpu_seconds(server.pid)
        loaded = wrk_search(url, for_wrk, args.clients, args.wrk_seconds, scratch)
        if loaded is None:
            print("text search, wrk: not installed (apt-get install wrk), skipped")
        else:
            print(f"text search, wrk, {args.clients} connections        p50 {loaded['p50']:7.1f} ms  p90 {loaded['p90']:7.1f} ms  "
                  f"p99 {loaded['p99']:.1f} ms  {loaded['per_second']:6.1f} req/s  server CPU "
                  f"{(server_cpu_seconds(server.pid) - cpu) / loaded['requests'] * 1000:4.1f} ms/req  over {loaded['requests']} "
                  f"requests{' (texts ran out: some searched twice)' if loaded['wrapped'] else ''}   [goal p50 <= 50 ms]")

        if not args.no_llm:
            ask_over_http(url, ASK_TURNS[0])  # the server loads its model (and system prompt) here if not yet
            http_first, http_total = zip(*(ask_over_http(url, m) for m in ASK_TURNS[1:]))
            from photoseek.agent.session import Session
            from photoseek.llm.base import get_llm

            with Library(library, llm=get_llm(args.llm)) as lib:
                session = Session(lib)
                session.ask(ASK_TURNS[0], explain="model")
                local = [session.ask(m, explain="model").timings for m in ASK_TURNS[1:]]
                local_first = [t.get("results", t["total"]) for t in local]
                local_total = [t["total"] for t in local]
            print(f"ask, time to first result: HTTP p50 {statistics.median(http_first):.2f} s, in-process "
                  f"Library.ask p50 {statistics.median(local_first):.2f} s "
                  f"(x{statistics.median(http_first) / statistics.median(local_first):.2f})")
            print(f"ask, whole answer:         HTTP p50 {statistics.median(http_total):.2f} s, in-process "
                  f"p50 {statistics.median(local_total):.2f} s  over {len(local)} warm turns")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
