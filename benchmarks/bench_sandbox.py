"""Callback delivery: the sandbox's dispatcher against a bare httpx loop, same receiver, same run.

A no-op receiver (Starlette under uvicorn with httptools + uvloop, one worker, 127.0.0.1) runs in
its own process and answers 200 to every POST. In the measuring process, rounds alternate
between:

- ``bare``: ``httpx.AsyncClient`` with ``concurrency`` worker tasks posting N form-encoded
  recording callbacks (bodies and signature headers precomputed): the least a sender can do;
- ``bare + signing``: the same, computing each V3 signature and nonce as it goes;
- ``dispatcher``: the sandbox (ManualClock, ``max_concurrent_callbacks=concurrency``) with N
  recordings that have ended; the clock is moved past their callbacks' due times and the round
  lasts until ``wait_idle``. This is the whole path: planning, fault decisions (all off),
  signing, the semaphore-bounded pool, recording every attempt for the ground truth.

Each cell is the median of ``--rounds`` rounds; the machine has 2 shared cores, so read the
ratios against ``bare`` in the same run, not the absolute rates.

Usage::

    .venv/bin/python benchmarks/bench_sandbox.py [--n 3000] [--rounds 3] [--concurrency 16 64]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from _serve import serve_on_free_port

AUTH_ID = "MABENCHACCOUNT000001"
TOKEN = "bench-token-0123456789abcdef0123"


def serve(port_file: str) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def sink(request: Request) -> Response:
        await request.body()
        return Response(b'{"status":"stored"}', media_type="application/json")

    app = Starlette(routes=[Route("/{path:path}", sink, methods=["POST", "GET"])])
    serve_on_free_port(app, port_file)


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = workdir / "port"
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text()):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("benchmark receiver did not start")
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


def fields(i: int) -> dict[str, str]:
    rid = f"bench-{i:08d}-0000-4000-8000-000000000000"
    return {"api_id": f"api-{rid}", "record_url": f"https://m.test/Recording/{rid}.mp3",
            "recording_id": rid, "conference_name": f"room {i % 50}",
            "recording_duration": "900", "recording_duration_ms": "900000",
            "recording_start_ms": "1793577600000", "recording_end_ms": "1793578500000"}


async def bare(url: str, n: int, concurrency: int, *, sign: bool) -> None:
    from recording_toolkit._http import httpx
    from recording_toolkit.signature import signed_headers

    target = url + "/callbacks/recording"
    prepared = []
    for i in range(n):
        data = fields(i)
        headers = None if sign else signed_headers(TOKEN, f"{i:020d}", "POST", target, data)
        prepared.append((data, headers))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False, timeout=10) as client:
        todo = iter(range(n))

        async def worker() -> None:
            for i in todo:
                data, headers = prepared[i]
                if headers is None:
                    headers = signed_headers(TOKEN, f"{i:020d}", "POST", target, data)
                headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
                response = await client.post(target, content=urlencode(list(data.items())),
                                             headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"bare loop got HTTP {response.status_code}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp))
        try:
            asyncio.run(bare(url, 200, 8, sign=True))  # warm up imports and connections
            rates: dict[tuple[str, int], list[float]] = {}
            for concurrency in args.concurrency:
                for _ in range(args.rounds):
                    for name in ("bare", "bare + signing", "dispatcher"):
                        began = time.perf_counter()
                        if name == "dispatcher":
                            elapsed = dispatcher(url, args.n, concurrency)
                        else:
                            asyncio.run(bare(url, args.n, concurrency,
                                             sign=name == "bare + signing"))
                            elapsed = time.perf_counter() - began
                        rates.setdefault((name, concurrency), []).append(args.n / elapsed)
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"callback deliveries per second (median of {args.rounds} rounds of {args.n};"
          " 2 shared cores: compare ratios)")
    print(f"| sender | {' | '.join(f'c={c}' for c in args.concurrency)} |")
    print(f"|---|{'---|' * len(args.concurrency)}")
    for name in ("bare", "bare + signing", "dispatcher"):
        cells = []
        for concurrency in args.concurrency:
            rate = statistics.median(rates[(name, concurrency)])
            base = statistics.median(rates[("bare", concurrency)])
            cells.append(f"{rate:,.0f} ({rate / base:.2f}x)")
        print(f"| {name} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
