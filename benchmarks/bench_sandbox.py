"""Callback delivery: the sandbox's dispatcher against bare sending loops, same receivers, same run.

Two receivers, each in its own process on 127.0.0.1, answer 200 to every request:

- ``starlette``: a no-op Starlette app under uvicorn (httptools + uvloop, one worker), the
  receiver these figures have always been taken against;
- ``minimal sink``: a bare asyncio protocol on uvloop that reads each request and writes a
  canned answer. It serves several times as many requests per second as the Starlette app, so
  against it the sender is what is measured, not the server.

In the measuring process, rounds alternate between senders:

- ``bare``: an ``aiohttp.ClientSession`` (uvloop, a pool of ``concurrency`` connections) with
  ``concurrency`` worker tasks posting N form-encoded recording callbacks, bodies and signature
  headers precomputed: the least a sender can do, and the baseline of every ratio;
- ``bare + signing``: the same, computing each V3 signature as it goes;
- ``dispatcher``: the sandbox (ManualClock, ``max_concurrent_callbacks=concurrency``) with N
  recordings that have ended; the clock is moved past their callbacks' due times and the round
  lasts until ``wait_idle``. This is the whole path: planning, fault decisions (all off),
  signing, the pool, recording every attempt for the ground truth;
- ``bare httpx``: the ``bare`` loop on ``httpx.AsyncClient`` (the dispatcher's client before
  aiohttp), over ``--httpx-n`` callbacks, for reference.

Each cell is the median of ``--rounds`` rounds; the machine has 2 shared cores, so read the
ratios against ``bare`` in the same run, not the absolute rates. The load average is printed
before and after.

Usage::

    .venv/bin/python benchmarks/bench_sandbox.py [--n 3000] [--rounds 3] [--concurrency 16 64]
        [--httpx-n 500]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

from _serve import serve_on_free_port

AUTH_ID = "MABENCHACCOUNT000001"
TOKEN = "bench-token-0123456789abcdef0123"
RECEIVERS = ("starlette", "minimal sink")
SENDERS = ("bare", "bare + signing", "dispatcher", "bare httpx")


# -- the receivers (child processes) -------------------------------------------------------------

def serve_starlette(port_file: str) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def sink(request: Request) -> Response:
        await request.body()
        return Response(b'{"status":"stored"}', media_type="application/json")

    app = Starlette(routes=[Route("/{path:path}", sink, methods=["POST", "GET"])])
    serve_on_free_port(app, port_file)


_ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n"
           b'{"status":"stored"}')


class _SinkProtocol(asyncio.Protocol):
    """Reads requests (headers, then ``Content-Length`` bytes of body); answers each with 200."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while (end := buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(buffer[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            length = 0
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17:stop if stop >= 0 else len(head)])
            if len(buffer) < end + 4 + length:
                return
            del buffer[:end + 4 + length]
            self.transport.write(_ANSWER)


def serve_minimal(port_file: str) -> None:
    import uvloop

    from recording_toolkit.server import bind_socket

    async def main() -> None:
        sock = bind_socket("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(_SinkProtocol, sock=sock)
        Path(port_file).write_text(str(sock.getsockname()[1]))
        async with server:
            await server.serve_forever()

    uvloop.run(main())


def start_server(workdir: Path, kind: str) -> tuple[subprocess.Popen[bytes], str]:
    port_file = workdir / f"port-{kind.replace(' ', '-')}"
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, str(port_file)])
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text()):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"benchmark receiver {kind!r} did not start")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{int(port_file.read_text())}"
    import httpx

    for _ in range(200):
        try:
            httpx.post(url + "/warm", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    return proc, url


# -- the senders ---------------------------------------------------------------------------------

def fields(i: int) -> dict[str, str]:
    rid = f"bench-{i:08d}-0000-4000-8000-000000000000"
    return {"api_id": f"api-{rid}", "record_url": f"https://m.test/Recording/{rid}.mp3",
            "recording_id": rid, "conference_name": f"room {i % 50}",
            "recording_duration": "900", "recording_duration_ms": "900000",
            "recording_start_ms": "1793577600000", "recording_end_ms": "1793578500000"}


def _prepared(target: str, n: int, sign: bool) -> list[tuple[dict[str, str], bytes,
                                                            dict[str, str] | None]]:
    from recording_toolkit.signature import signed_headers

    out = []
    for i in range(n):
        data = fields(i)
        headers = None if sign else signed_headers(TOKEN, f"{i:020d}", "POST", target, data)
        out.append((data, urlencode(list(data.items())).encode(), headers))
    return out


def _headers(i: int, target: str, data: dict[str, str],
             headers: dict[str, str] | None) -> dict[str, str]:
    from recording_toolkit.signature import signed_headers

    if headers is None:
        headers = signed_headers(TOKEN, f"{i:020d}", "POST", target, data)
    return {**headers, "Content-Type": "application/x-www-form-urlencoded"}


async def bare_aiohttp(url: str, n: int, concurrency: int, *, sign: bool) -> None:
    import aiohttp

    target = url + "/callbacks/recording"
    prepared = _prepared(target, n, sign)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        todo = iter(range(n))

        async def worker() -> None:
            for i in todo:
                data, body, headers = prepared[i]
                async with session.post(target, data=body,
                                        headers=_headers(i, target, data, headers)) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"bare loop got HTTP {response.status}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def bare_httpx(url: str, n: int, concurrency: int) -> None:
    import httpx

    target = url + "/callbacks/recording"
    prepared = _prepared(target, n, False)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False, timeout=10) as client:
        todo = iter(range(n))

        async def worker() -> None:
            for i in todo:
                data, body, headers = prepared[i]
                response = await client.post(target, content=body,
                                             headers=_headers(i, target, data, headers))
                if response.status_code != 200:
                    raise RuntimeError(f"bare httpx loop got HTTP {response.status_code}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def run_loop(make: Callable[[], Coroutine[Any, Any, None]]) -> float:
    """Seconds ``make()`` takes on a fresh uvloop loop (as the dispatcher's thread runs)."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        began = time.perf_counter()
        runner.run(make())
        return time.perf_counter() - began


def dispatcher(url: str, n: int, concurrency: int) -> float:
    from recording_toolkit.sandbox import ManualClock, Sandbox
    from recording_toolkit.sandbox._state import StartRequest

    clock = ManualClock(datetime(2026, 11, 2, tzinfo=UTC))
    options = StartRequest(callback_url=url + "/callbacks/recording")
    with Sandbox(auth_id=AUTH_ID, auth_token=TOKEN, clock=clock, media_url="https://m.test",
                 durations=lambda rng: 900.0, max_concurrent_callbacks=concurrency) as sandbox:
        for i in range(n):
            sandbox.core.start(f"room {i % 50}", options)
        began = time.perf_counter()
        clock.advance(3600)
        if not sandbox.wait_idle(300):
            raise RuntimeError("the dispatcher did not finish")
        elapsed = time.perf_counter() - began
        counts = sandbox.ground_truth(details=False)["callbacks"]["recording"]
    if counts["delivered"] != n:
        raise RuntimeError(f"delivered {counts['delivered']} of {n}")
    return elapsed


def one_round(sender: str, url: str, n: int, httpx_n: int, concurrency: int) -> float:
    """Deliveries per second of one round."""
    if sender == "dispatcher":
        return n / dispatcher(url, n, concurrency)
    if sender == "bare httpx":
        return httpx_n / run_loop(lambda: bare_httpx(url, httpx_n, concurrency))
    sign = sender == "bare + signing"
    return n / run_loop(lambda: bare_aiohttp(url, n, concurrency, sign=sign))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="callbacks per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--httpx-n", type=int, default=500,
                        help="callbacks per round of the (slow) bare httpx loop")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        kind, port_file = args.serve
        (serve_starlette if kind == "starlette" else serve_minimal)(port_file)
        return 0
    loads = [os.getloadavg()[0]]
    rates: dict[tuple[str, str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        servers = {kind: start_server(Path(tmp), kind) for kind in RECEIVERS}
        try:
            for _, url in servers.values():  # warm up imports and connections
                run_loop(functools.partial(bare_aiohttp, url, 200, 8, sign=True))
            for concurrency in args.concurrency:
                for _ in range(args.rounds):
                    for receiver, (_, url) in servers.items():
                        for sender in SENDERS:
                            rate = one_round(sender, url, args.n, args.httpx_n, concurrency)
                            rates.setdefault((receiver, sender, concurrency), []).append(rate)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(30)
    loads.append(os.getloadavg()[0])
    print(f"callback deliveries per second (median of {args.rounds} rounds of {args.n}; bare"
          f" httpx: {args.httpx_n}; 2 shared cores: compare ratios; load average"
          f" {loads[0]:.1f} before, {loads[1]:.1f} after)")
    for receiver in RECEIVERS:
        print()
        title = "sender" if receiver == "starlette" else f"sender ({receiver})"
        print(f"| {title} | {' | '.join(f'c={c}' for c in args.concurrency)} |")
        print(f"|---|{'---|' * len(args.concurrency)}")
        for sender in SENDERS:
            cells = []
            for concurrency in args.concurrency:
                rate = statistics.median(rates[(receiver, sender, concurrency)])
                base = statistics.median(rates[(receiver, "bare", concurrency)])
                cells.append(f"{rate:,.0f} ({rate / base:.2f}x)")
            name = sender if receiver == "starlette" else f"{sender} ({receiver})"
            print(f"| {name} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
