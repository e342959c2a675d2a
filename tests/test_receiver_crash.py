"""Crash safety of the receiver: ``kill -9`` mid-stream loses no acknowledged callback.

The receiver runs as ``recording-toolkit receive`` in a subprocess; callbacks stream in from 20
concurrent senders; the process is killed with SIGKILL while requests are in flight, then started
again on the same log folder. Every callback that got a 2xx must be in the log exactly once, and
redelivering everything afterwards must not store anything twice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from recording_toolkit.signature import signed_headers

TOKEN = "crash-test-token-abcdef0123456789"
TOTAL = 600
KILL_AFTER_ACKS = 150
SENDERS = 20
_nonces = itertools.count(1)


class ReceiverProcess:
    """``recording-toolkit receive`` on a free 127.0.0.1 port, in a subprocess."""

    def __init__(self, log_dir: Path) -> None:
        env = {**os.environ, "PLIVO_AUTH_TOKEN": TOKEN}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "recording_toolkit", "receive", "--port", "0",
             "--log-dir", str(log_dir)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        self.url = self._wait_for_url()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def _wait_for_url(self) -> str:
        while True:
            try:
                line = self.lines.get(timeout=30)
            except queue.Empty:
                self.proc.kill()
                self.proc.wait(10)
                error = self.proc.stderr.read()
                self._close_streams()
                raise AssertionError(f"receiver did not start: {error}") from None
            if "listening on " in line:
                return line.split("listening on ", 1)[1].strip()

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._close_streams()

    def _close_streams(self) -> None:
        self._pump_thread.join(10)  # the pipe reached EOF when the process ended
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self._close_streams()


def callback(i: int) -> tuple[str, dict[str, str]]:
    if i % 2:
        return "transcription", {"recording_id": f"rec-{i:04d}", "transcription": f"text {i} ü",
                                 "transcription_rate": "0.05", "transcription_charge": "0.05",
                                 "duration": "23", "call_uuid": f"call-{i}", "error": ""}
    return "recording", {"recording_id": f"rec-{i:04d}", "record_url": f"https://m/rec-{i}.mp3",
                         "recording_duration_ms": str(1000 + i), "recording_duration": "1"}


async def deliver(client: httpx.AsyncClient, base_url: str, i: int) -> str:
    """Send callback ``i``; return the receiver's status text, or raise on no 2xx answer."""
    kind, params = callback(i)
    url = f"{base_url}/callbacks/{kind}"
    headers = signed_headers(TOKEN, str(next(_nonces)), "POST", url, params)
    response = await client.post(url, data=params, headers=headers)
    response.raise_for_status()
    return response.json()["status"]


def logged(log_dir: Path) -> tuple[list[tuple[str, str]], int]:
    """(kind, recording_id) of every readable line, and the number of unreadable lines."""
    found, unreadable = [], 0
    for path in sorted(log_dir.glob("callbacks-*.jsonl")):
        for raw in path.read_bytes().splitlines():
            try:
                line = json.loads(raw)
                found.append((line["event"], line["payload"]["recording_id"]))
            except (ValueError, KeyError):
                unreadable += 1  # a torn last line: the loader quarantines it
    return found, unreadable


@pytest.mark.timeout(180)
def test_kill_9_mid_stream_loses_no_acknowledged_callback(tmp_path):
    first = ReceiverProcess(tmp_path)
    acked: set[int] = set()

    async def stream() -> None:
        killed = asyncio.Event()
        pending = iter(range(TOTAL))
        limits = httpx.Limits(max_connections=SENDERS)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            async def sender() -> None:
                for i in pending:
                    try:
                        await deliver(client, first.url, i)
                    except httpx.HTTPError:
                        if killed.is_set():
                            return  # the receiver is gone; the rest are never acknowledged
                        raise
                    acked.add(i)
                    if len(acked) >= KILL_AFTER_ACKS and not killed.is_set():
                        killed.set()
                        first.kill9()  # while the other senders' requests are in flight
            await asyncio.gather(*(sender() for _ in range(SENDERS)))

    asyncio.run(stream())
    assert first.proc.returncode == -signal.SIGKILL
    assert KILL_AFTER_ACKS <= len(acked) < TOTAL

    second = ReceiverProcess(tmp_path)
    try:
        found, _ = logged(tmp_path)
        for i in acked:
            kind, params = callback(i)
            assert found.count((kind, params["recording_id"])) == 1, i

        async def redeliver_everything() -> list[str]:
            async with httpx.AsyncClient(limits=httpx.Limits(max_connections=SENDERS),
                                         timeout=10) as client:
                semaphore = asyncio.Semaphore(SENDERS)

                async def one(i: int) -> str:
                    async with semaphore:
                        return await deliver(client, second.url, i)
                return await asyncio.gather(*(one(i) for i in range(TOTAL)))

        statuses = asyncio.run(redeliver_everything())
        assert all(statuses[i] == "duplicate" for i in acked)
        found, unreadable = logged(tmp_path)
        expected = [(callback(i)[0], callback(i)[1]["recording_id"]) for i in range(TOTAL)]
        assert sorted(found) == sorted(expected)  # each callback exactly once
        assert unreadable <= 1  # at most the torn last line of the killed writer
    finally:
        assert second.terminate() == 0
