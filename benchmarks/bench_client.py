"""Bulk start of recordings: ``start_recordings`` against a bare httpx loop, same server, same run.

A minimal Starlette app answering every ``POST .../Conference/{name}/Record/`` with Plivo's 202 body
runs under uvicorn (httptools + uvloop, one worker, 127.0.0.1) in its own process, so the server
does not share the measuring process's interpreter. The measuring happens in a child process per
HTTP library (``httpx``; ``httpx2`` too when it is installed, swapped in through
``recording_toolkit._http``), and within it, rounds alternate between:

- ``bare``: ``httpx.AsyncClient`` with ``concurrency`` worker tasks posting the same JSON body
  to the same URLs, with a precomputed Basic auth header and the same connection limits as the
  toolkit's client, checking the status and decoding the JSON answer: the least a caller can do;
- ``async client``: ``AsyncRecordingClient.start_recordings(names, concurrency=c,
  progress=False)`` with the rate limit off: validation, retries armed, result objects, the frame;
- ``sync client``: ``RecordingClient.start_recordings`` (worker threads over one pool), for the
  choice between threads and an event loop in the blocking client.

Each cell is the median of ``--rounds`` rounds of ``--n`` requests. The machine has 2 cores shared
with other work: read the ratios, not the absolute rates.

Usage::

    .venv/bin/python benchmarks/bench_client.py [--n 5000] [--rounds 3] [--concurrency 10 50]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from _serve import serve_on_free_port

AUTH_ID = "MABENCHACCOUNT000001"
TOKEN = "bench-token-0123456789abcdef0123"


# -- server (child process) -------------------------------------------------------------------------

def serve(port_file: str) -> None:
    import itertools

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    counter = itertools.count()

    async def record(request: Request) -> Response:
        await request.body()
        rid = f"bench-{next(counter):08d}"
        body = (f'{{"api_id":"api-{rid}","message":"conference recording started",'
                f'"recording_id":"{rid}","url":"https://media.plivo.com/v1/Account/{AUTH_ID}'
                f'/Recording/{rid}.mp3"}}')
        return Response(body, status_code=202, media_type="application/json")

    app = Starlette(routes=[Route("/v1/Account/{aid}/Conference/{name}/Record/", record,
                                  methods=["POST"])])
    serve_on_free_port(app, port_file)


class Server:
    def __init__(self, workdir: Path) -> None:
        port_file = workdir / "port"
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("benchmark server did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}"
        self._wait_ready()

    def _wait_ready(self) -> None:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/", timeout=1)
            except urllib.error.HTTPError:
                return  # 404: serving
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("benchmark server is not answering")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- measuring (child process per HTTP library) ---------------------------------------------------

def measure(impl: str, url: str, n: int, rounds: int, concurrencies: list[int]) -> dict:
    if impl == "httpx2":
        import httpx2

        import recording_toolkit._http as http_module
        http_module.httpx = httpx2  # before the client modules bind the name
    from recording_toolkit._http import httpx
    from recording_toolkit.client import AsyncRecordingClient, RecordingClient

    auth = "Basic " + base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()

    async def bare(names: list[str], concurrency: int) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10.0,
                                     headers={"Authorization": auth}) as client:
            todo = iter(names)

            async def worker() -> None:
                for name in todo:
                    response = await client.post(
                        f"/v1/Account/{AUTH_ID}/Conference/{quote(name, safe='')}/Record/",
                        json={"conference_name": name, "file_format": "mp3"})
                    if response.status_code != 202:
                        raise RuntimeError(f"bare loop got HTTP {response.status_code}")
                    response.json()

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def async_client(names: list[str], concurrency: int) -> None:
        async with AsyncRecordingClient(AUTH_ID, TOKEN, base_url=url, rate_limit=None) as client:
            df = await client.start_recordings(names, concurrency=concurrency, progress=False)
        if not df["ok"].all():
            raise RuntimeError(f"client failures: {df[~df['ok']].head(3).to_dict('records')}")

    def sync_client(names: list[str], concurrency: int) -> None:
        with RecordingClient(AUTH_ID, TOKEN, base_url=url, rate_limit=None) as client:
            df = client.start_recordings(names, concurrency=concurrency, progress=False)
        if not df["ok"].all():
            raise RuntimeError(f"client failures: {df[~df['ok']].head(3).to_dict('records')}")

    variants = {
        "bare": lambda names, c: asyncio.run(bare(names, c)),
        "async client": lambda names, c: asyncio.run(async_client(names, c)),
        "sync client": sync_client,
    }
    variants["bare"]([f"warm {i}" for i in range(200)], 10)  # imports, first connections
    variants["async client"]([f"warm {i}" for i in range(200)], 10)
    rates: dict[str, dict[str, list[float]]] = {}
    batch = 0
    for concurrency in concurrencies:
        for _ in range(rounds):
            for name, run in variants.items():
                names = [f"bench room {batch}-{i}" for i in range(n)]
                batch += 1
                started = time.perf_counter()
                run(names, concurrency)
                elapsed = time.perf_counter() - started
                rates.setdefault(name, {}).setdefault(str(concurrency), []).append(n / elapsed)
    version = getattr(httpx, "__version__", "?")
    return {"impl": impl, "version": version, "rates": rates}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="requests per round (default 5000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--impl", nargs="+", default=None,
                        help="HTTP libraries to measure (default: httpx, and httpx2 if installed)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if args.measure:
        result = measure(args.measure, args.url, args.n, args.rounds, args.concurrency)
        print(json.dumps(result))
        return 0

    impls = args.impl or ["httpx"] + (["httpx2"] if importlib.util.find_spec("httpx2") else [])
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        server = Server(Path(tmp))
        try:
            for impl in impls:
                out = subprocess.run(
                    [sys.executable, __file__, "--measure", impl, "--url", server.url,
                     "--n", str(args.n), "--rounds", str(args.rounds), "--concurrency",
                     *map(str, args.concurrency)],
                    check=True, capture_output=True, text=True)
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        finally:
            server.stop()

    print(f"# Bulk start: {args.n} start-recording POSTs per round against one uvicorn worker on"
          f" loopback\n({os.cpu_count()} cores shared; medians of {args.rounds} rounds; rate limit"
          " off, progress off)\n")
    print("| library | concurrency | bare AsyncClient req/s | AsyncRecordingClient req/s | ratio |"
          " RecordingClient (threads) req/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for result in results:
        for c in map(str, args.concurrency):
            med = {k: statistics.median(v[c]) for k, v in result["rates"].items()}
            print(f"| {result['impl']} {result['version']} | {c} | {med['bare']:,.0f}"
                  f" | {med['async client']:,.0f} | **{med['async client'] / med['bare']:.2f}x**"
                  f" | {med['sync client']:,.0f} | {med['sync client'] / med['bare']:.2f}x |")
    print("\nratio = client / bare AsyncClient loop of the same library, same concurrency"
          " (target >= 0.8x for AsyncRecordingClient).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
