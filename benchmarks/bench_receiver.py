"""Sustained callbacks/s of the receiver with durable writes, against a no-op baseline.

The servers run in their own processes on the same uvicorn settings (uvloop + httptools,
127.0.0.1):

- ``no-op``: a Starlette endpoint on the same path that reads the body and answers 200, on one
  plain uvicorn process;
- ``receiver``: ``recording-toolkit receive``, as users run it: read the body (1 MiB cap, body
  timeout), verify the V3 signature, normalise, append to the callback log and fsync (group
  commit) before answering 200, behind the connection guards (stalled clients, connection
  limit);
- ``receiver xN``: the same command with ``--workers N`` (``--workers 2 ...``; one row each),
  N processes sharing the port;
- ``app, plain uvicorn`` (with ``--plain``): the receiver's app on plain ``uvicorn.Server``,
  without the command's connection guards, to see what the guards cost.

The load generator (this process) keeps 50 keep-alive connections busy, one request in flight
on each (50 concurrent senders), with pre-signed, all-distinct recording callbacks, so every
request is a real durable write. It is a minimal asyncio HTTP/1.1 client: httpx itself stays in
the hundreds of requests/s at this concurrency (docs/performance.md) and would measure the client.
Rounds alternate between the two servers; the table shows medians and the ratio. The machine is
shared and noisy: read the ratio, not the absolute rates.

Usage::

    .venv/bin/python benchmarks/bench_receiver.py [--requests 8000] [--seconds 10] [--rounds 3]
        [--workers 2 ...]
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

def serve_app(port_file: str, log_dir: str) -> None:
    """The receiver's app on plain uvicorn (no connection guards)."""
    from recording_toolkit.callback_log import CallbackLog
    from recording_toolkit.receiver import create_receiver_app
    from recording_toolkit.server import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    log = CallbackLog(log_dir, instance_id="bench")
    try:
        app = create_receiver_app(log, auth_tokens=TOKEN,
                                  public_url=f"http://127.0.0.1:{sock.getsockname()[1]}")
        serve_on_free_port(app, port_file, port=sock)
    finally:
        log.close()


def serve_noop(port_file: str) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def noop(request: Request) -> Response:
        await request.body()
        return Response(b'{"status": "ok"}', media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    app = Starlette(routes=[Route(PATH, noop, methods=["POST"]), Route("/healthz", health)])
    serve_on_free_port(app, port_file)


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
    """One server under test in its own process: the no-op app, or the ``receive`` command."""

    def __init__(self, kind: str, workdir: Path, workers: int = 1) -> None:
        self.kind = kind
        self.log_dir = workdir / f"{kind}-{workers}-log"
        if kind in ("noop", "app"):
            port_file = workdir / f"{kind}.port"
            self.proc = subprocess.Popen([sys.executable, __file__, "--serve", kind,
                                          "--port-file", str(port_file),
                                          "--log-dir", str(self.log_dir)])
            self.port = self._port_from_file(port_file)
        else:
            # the token goes through the environment, as the command asks
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "recording_toolkit", "receive", "--port", "0",
                 "--log-dir", str(self.log_dir), "--workers", str(workers)],
                env={**os.environ, "PLIVO_AUTH_TOKEN": TOKEN}, stdout=subprocess.PIPE,
                text=True)
            self.port = self._port_from_banner()
        self._wait_ready()

    def _port_from_file(self, port_file: Path) -> int:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server did not start")
            time.sleep(0.05)
        return int(port_file.read_text())

    def _port_from_banner(self) -> int:
        assert self.proc.stdout is not None
        port = None
        for line in self.proc.stdout:  # the banner ends with "press Ctrl-C to stop"
            if "listening on http://127.0.0.1:" in line:
                port = int(line.rsplit(":", 1)[1])
            if "press Ctrl-C" in line:
                break
        if port is None:
            raise RuntimeError(f"{self.kind} server did not start")
        return port

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

    def lines_on_disk(self) -> int:
        return sum(len(p.read_bytes().splitlines()) for p in self.log_dir.glob("callbacks-*.jsonl"))

    def stop(self) -> str:
        """Stop it; the command's last line (what it stored), if any."""
        self.proc.terminate()
        last = ""
        if self.proc.stdout is not None:
            for line in self.proc.stdout:
                last = line.strip() or last
            self.proc.stdout.close()
        self.proc.wait(60)
        return last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=8000, help="at most this many per round")
    parser.add_argument("--seconds", type=float, default=10.0, help="at most this long per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="*", default=[2],
                        help="also measure 'receive --workers N' for each N (default: 2;"
                             " none: only one process)")
    parser.add_argument("--plain", action="store_true",
                        help="also measure the receiver's app on plain uvicorn (no guards)")
    parser.add_argument("--serve", choices=["noop", "app"], help=argparse.SUPPRESS)
    parser.add_argument("--port-file", help=argparse.SUPPRESS)
    parser.add_argument("--log-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve == "noop":
        serve_noop(args.port_file)
        return 0
    if args.serve == "app":
        serve_app(args.port_file, args.log_dir)
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-receiver-") as tmp:
        workdir = Path(tmp)
        servers = {"no-op": Server("noop", workdir), "receiver": Server("receiver", workdir)}
        for workers in args.workers:
            servers[f"receiver x{workers}"] = Server("receiver", workdir, workers)
        if args.plain:
            servers["app, plain uvicorn"] = Server("app", workdir)
        results: dict[str, list[dict]] = {name: [] for name in servers}
        offset = 0
        last_lines: dict[str, str] = {}
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
            for name, server in servers.items():
                last_lines[name] = server.stop()
        lines = {name: server.lines_on_disk() for name, server in servers.items()
                 if name != "no-op"}
    load_average = ", ".join(f"{value:.2f}" for value in os.getloadavg())

    print(f"# Receiver throughput: {CONCURRENCY} concurrent senders, durable writes"
          f" ({os.cpu_count()} cores shared; medians of {args.rounds} rounds;"
          f" load average {load_average} at the end)\n")
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
    for name in medians:
        if name not in ("no-op", "receiver"):
            print(f"ratio {name} / no-op: **{medians[name] / medians['no-op']:.2f}x**;"
                  f" {name} / receiver: {medians[name] / medians['receiver']:.2f}x")
    stored = log_counts["stored"]
    print(f"receiver: {stored} callbacks stored in {log_counts['batches']} fsync batches"
          f" (mean batch {stored / max(1, log_counts['batches']):.1f}); {lines['receiver']} lines"
          " on disk")
    for workers in args.workers:
        name = f"receiver x{workers}"
        print(f"{name}: {lines[name]} lines on disk; the command said: {last_lines[name]}")
    return 0


def fetch_json(url: str) -> dict:
    from urllib.request import urlopen

    with urlopen(url, timeout=10) as response:
        return json.loads(response.read())


if __name__ == "__main__":
    sys.exit(main())
