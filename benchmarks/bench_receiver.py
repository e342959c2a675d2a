"""Sustained callbacks/s of the receiver with durable writes, against a no-op baseline.

Two servers run, each in its own process, on the same uvicorn settings (uvloop + httptools, one
worker, 127.0.0.1):

- ``receiver``: the real app: read the body (1 MiB cap), verify the V3 signature, normalise,
  append to the callback log and fsync (group commit) before answering 200;
- ``no-op``: a Starlette endpoint on the same path that reads the body and answers 200.

The load generator (this process) keeps 50 keep-alive connections busy, one request in flight
on each (50 concurrent senders), with pre-signed, all-distinct recording callbacks, so every
request is a real durable write. It is a minimal asyncio HTTP/1.1 client: httpx itself stays in
the hundreds of requests/s at this concurrency (docs/performance.md) and would measure the client.
Rounds alternate between the two servers; the table shows medians and the ratio. The machine is
shared and noisy: read the ratio, not the absolute rates.

Usage::

    .venv/bin/python benchmarks/bench_receiver.py [--requests 8000] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _serve import serve_on_free_port

TOKEN = "bench-token-0123456789abcdef0123"
PATH = "/callbacks/recording"
CONCURRENCY = 50


# -- server side (run in a child process) ---------------------------------------------------------

def serve(kind: str, port_file: str, log_dir: str) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from recording_toolkit.server import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    log = None
    if kind == "receiver":
        from recording_toolkit.callback_log import CallbackLog
        from recording_toolkit.receiver import create_receiver_app

        log = CallbackLog(log_dir, instance_id="bench")
        app = create_receiver_app(log, auth_tokens=TOKEN, public_url=f"http://127.0.0.1:{port}")
    else:
        async def noop(request: Request) -> Response:
            await request.body()
            return Response(b'{"status": "ok"}', media_type="application/json")

        async def health(request: Request) -> Response:
            return Response(b"{}", media_type="application/json")

        app = Starlette(routes=[Route(PATH, noop, methods=["POST"]),
                                Route("/healthz", health)])
    try:
        serve_on_free_port(app, port_file, port=sock)
    finally:
        if log is not None:
            log.close()


# -- load generator ---------------------------------------------------------------------------------

def build_requests(port: int, count: int, start: int) -> list[bytes]:
    from urllib.parse import urlencode

    from recording_toolkit.signature import signed_headers

    url = f"http://127.0.0.1:{port}{PATH}"
    out = []
    for i in range(start, start + count):
        params = {
            "api_id": f"api-{i}", "recording_id": f"rec-{i:08d}", "conference_name": "Bench Room",
            "record_url": f"https://media.plivo.com/v1/Account/MA/Recording/rec-{i:08d}.mp3",
            "recording_duration": "345", "recording_duration_ms": "345100.00000",
            "recording_start_ms": "1763978100000", "recording_end_ms": "1763978445100",
        }
        body = urlencode(params).encode()
        headers = signed_headers(TOKEN, str(10**12 + i), "POST", url, params)
        head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n")
        out.append(head.encode() + body)
    return out


async def _connection(port: int, requests: list[bytes], state: dict, latencies: list[float],
                      deadline: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline and state["next"] < len(requests):
            request = requests[state["next"]]
            state["next"] += 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            state["status"][status] = state["status"].get(status, 0) + 1
    finally:
        writer.close()
        await writer.wait_closed()


def load(port: int, requests: list[bytes], seconds: float) -> dict:
    async def main() -> dict:
        state: dict = {"next": 0, "status": {}}
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(*(_connection(port, requests, state, latencies, started + seconds)
                               for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        done = len(latencies)
        latencies.sort()
        return {"requests": done, "seconds": elapsed, "rate": done / elapsed,
                "p50_ms": 1000 * latencies[done // 2],
                "p99_ms": 1000 * latencies[min(done - 1, int(done * 0.99))],
                "status": state["status"]}

    return asyncio.run(main())


class Server:
    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        port_file = workdir / f"{kind}.port"
        self.log_dir = workdir / f"{kind}-log"
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port-file",
                                      str(port_file), "--log-dir", str(self.log_dir)])
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{kind} server did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        self._wait_ready()

    def _wait_ready(self) -> None:
        import socket

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.kind} server is not accepting connections")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=8000, help="at most this many per round")
    parser.add_argument("--seconds", type=float, default=10.0, help="at most this long per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", choices=["receiver", "noop"], help=argparse.SUPPRESS)
    parser.add_argument("--port-file", help=argparse.SUPPRESS)
    parser.add_argument("--log-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port_file, args.log_dir)
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-receiver-") as tmp:
        workdir = Path(tmp)
        servers = {"no-op": Server("noop", workdir), "receiver": Server("receiver", workdir)}
        results: dict[str, list[dict]] = {"no-op": [], "receiver": []}
        offset = 0
        try:
            for server in servers.values():  # warm-up: imports, the first file, connections
                load(server.port, build_requests(server.port, 300, offset), 5)
                offset += 300
            for _ in range(args.rounds):
                for name, server in servers.items():
                    requests = build_requests(server.port, args.requests, offset)
                    offset += args.requests
                    results[name].append(load(server.port, requests, args.seconds))
            log_counts = fetch_json(f"http://127.0.0.1:{servers['receiver'].port}/healthz")["log"]
        finally:
            for server in servers.values():
                server.stop()
        lines = sum(len(p.read_bytes().splitlines())
                    for p in (workdir / "receiver-log").glob("callbacks-*.jsonl"))

    print(f"# Receiver throughput: {CONCURRENCY} concurrent senders, durable writes"
          f" ({os.cpu_count()} cores shared; medians of {args.rounds} rounds)\n")
    print("| server | requests/round | req/s | p50 ms | p99 ms | non-200 |")
    print("|---|---|---|---|---|---|")
    medians = {}
    for name, rounds in results.items():
        rate = statistics.median(r["rate"] for r in rounds)
        medians[name] = rate
        bad = sum(n for r in rounds for s, n in r["status"].items() if s != 200)
        print(f"| {name} | {statistics.median(r['requests'] for r in rounds):.0f} | {rate:,.0f}"
              f" | {statistics.median(r['p50_ms'] for r in rounds):.1f}"
              f" | {statistics.median(r['p99_ms'] for r in rounds):.1f} | {bad} |")
    ratio = medians["receiver"] / medians["no-op"]
    print(f"\nratio receiver / no-op: **{ratio:.2f}x** (target >= 0.5x)")
    stored = log_counts["stored"]
    print(f"receiver: {stored} callbacks stored in {log_counts['batches']} fsync batches"
          f" (mean batch {stored / max(1, log_counts['batches']):.1f}); {lines} lines on disk")
    return 0


def fetch_json(url: str) -> dict:
    from urllib.request import urlopen

    with urlopen(url, timeout=10) as response:
        return json.loads(response.read())


if __name__ == "__main__":
    sys.exit(main())
