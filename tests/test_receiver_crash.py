"""Crash safety of the receiver: ``kill -9`` mid-stream loses no acknowledged callback, and a
flood of stalled senders does not keep valid callbacks out.

The receiver runs as ``recording-toolkit receive`` in a subprocess; callbacks stream in from 20
concurrent senders; the process is killed with SIGKILL while requests are in flight, then started
again on the same log folder. Every callback that got a 2xx must be in the log exactly once, and
redelivering everything afterwards must not store anything twice.

The flood: a few hundred raw sockets each send headers and part of a body (or part of the
headers), then wait, while valid signed callbacks stream in. Every valid one must be
acknowledged and on disk, and every stalled one answered 408 or closed. With the receiver's
open-file limit at 256, stalled connections past the limit are closed to make room, so valid
callbacks are still never refused.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import queue
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
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

    def __init__(self, log_dir: Path, *options: str, open_files: int | None = None) -> None:
        env = {**os.environ, "PLIVO_AUTH_TOKEN": TOKEN}
        command = [sys.executable, "-m", "recording_toolkit", "receive", "--port", "0",
                   "--log-dir", str(log_dir), *options]
        if open_files is not None:  # the receiver's own open-file limit, as 'ulimit -n' sets it
            command = ["sh", "-c", f'ulimit -n {open_files} && exec "$0" "$@"', *command]
        self.proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
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
        self.stderr = self.proc.stderr.read() if self.proc.stderr is not None else ""
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


# -- stalled senders ----------------------------------------------------------------------------

STALLED = 300
VALID = 60


def stall(base_url: str, i: int) -> socket.socket:
    """Two in three: headers declaring a 400-byte body, 13 bytes of it, then nothing; the
    others: half the headers, then nothing."""
    host, port = httpx.URL(base_url).host, httpx.URL(base_url).port
    sock = socket.create_connection((host, port), timeout=30)
    request = (f"POST /callbacks/recording HTTP/1.1\r\nHost: {host}:{port}\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 400\r\n"
               "\r\nrecording_id=").encode()
    sock.sendall(request if i % 3 else request[:40])
    return sock


def first_line_then_closed(sock: socket.socket, within: float) -> bytes:
    """The status line the server sent before closing (b"" if none); fails if still open after
    ``within`` seconds."""
    received = b""
    sock.settimeout(within)
    with sock:
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            raise AssertionError(f"a stalled connection was still open after {within} s") from None
        except ConnectionResetError:
            pass  # refused and reset: closed all the same
    return received.split(b"\r\n", 1)[0]


async def deliver_all(base_url: str, ids: range) -> list[str]:
    """Deliver callbacks ``ids``, 10 at a time, each once: anything but a 2xx fails."""
    semaphore = asyncio.Semaphore(10)

    async def one(client: httpx.AsyncClient, i: int) -> str:
        async with semaphore:
            return await deliver(client, base_url, i)

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=10), timeout=20) as client:
        return await asyncio.gather(*(one(client, i) for i in ids))


@pytest.fixture
def open_file_room():
    """Room in this process for the stalled sockets and the receiver's pipes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = STALLED + 200
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"needs {wanted} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.timeout(120)
def test_valid_callbacks_are_stored_while_hundreds_of_stalled_bodies_are_open(tmp_path,
                                                                               open_file_room):
    receiver = ReceiverProcess(tmp_path, "--body-timeout", "5", open_files=1024)
    try:
        stalled = [stall(receiver.url, i) for i in range(STALLED)]
        try:
            statuses = asyncio.run(deliver_all(receiver.url, range(VALID)))
        finally:
            answers = [first_line_then_closed(sock, within=30) for sock in stalled]
        assert statuses == ["stored"] * VALID
        found, unreadable = logged(tmp_path)
        assert sorted(found) == sorted((callback(i)[0], callback(i)[1]["recording_id"])
                                       for i in range(VALID))
        assert unreadable == 0
        # a stalled body is answered 408; half-sent headers are not a request: just closed
        assert [line[:13] for line in answers] == [
            b"HTTP/1.1 408 " if i % 3 else b"" for i in range(STALLED)]
        rejected = [json.loads(line) for path in (tmp_path / "_rejected").glob("*.jsonl")
                    for line in path.read_text(encoding="utf-8").splitlines()]
        assert [r["status"] for r in rejected] == [408] * (STALLED - len(range(0, STALLED, 3)))
    finally:
        assert receiver.terminate() == 0
    assert "Traceback" not in receiver.stderr


@pytest.mark.timeout(120)
def test_under_ulimit_256_stalled_connections_make_room_for_valid_callbacks(tmp_path,
                                                                            open_file_room):
    receiver = ReceiverProcess(tmp_path, "--body-timeout", "10", open_files=256)
    try:
        stalled = [stall(receiver.url, i) for i in range(STALLED)]
        try:
            # half the open-file limit are served at once; once the stalled ones have been stuck
            # for a second, each valid callback closes one of them to make room: none is refused
            time.sleep(2.5)
            statuses = asyncio.run(deliver_all(receiver.url, range(VALID)))
        finally:
            answers = [first_line_then_closed(sock, within=30) for sock in stalled]
        assert statuses == ["stored"] * VALID
        found, _ = logged(tmp_path)
        assert sorted(found) == sorted((callback(i)[0], callback(i)[1]["recording_id"])
                                       for i in range(VALID))
        # answered 408 after the timeout, 503 while none was stuck yet, or closed for room
        assert {line[:13] for line in answers} <= {b"HTTP/1.1 408 ", b"HTTP/1.1 503 ", b""}
    finally:
        assert receiver.terminate() == 0
    assert "Traceback" not in receiver.stderr
