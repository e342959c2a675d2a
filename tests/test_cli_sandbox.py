"""``recording-toolkit sandbox`` (commands/sandbox.py)."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from recording_toolkit.cli import build_parser, main
from recording_toolkit.commands.sandbox import run


class Output(io.StringIO):
    """A stdout that can be waited on from another thread."""

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.getvalue():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never printed; got {self.getvalue()!r}")
            time.sleep(0.02)
        return self.getvalue()


def serve(*argv: str) -> tuple[threading.Thread, threading.Event, Output, list[int]]:
    args = build_parser().parse_args(["sandbox", "--port", "0", *argv])
    out, stop, codes = Output(), threading.Event(), []
    thread = threading.Thread(target=lambda: codes.append(run(args, out=out, stop=stop)))
    thread.start()
    return thread, stop, out, codes


def banner_value(text: str, key: str) -> str:
    return re.search(rf"{key}:\s+(\S+)", text).group(1)


def test_it_prints_url_and_credentials_and_serves_until_stopped(auth_id, auth_token):
    thread, stop, out, codes = serve("--auth-id", auth_id, "--auth-token", auth_token,
                                     "--seed", "4", "--time-scale", "3600", "--strict")
    try:
        text = out.wait_for("press Ctrl-C to stop")
        url = re.search(r"a simulated Plivo on (http://127\.0\.0\.1:\d+)", text).group(1)
        assert banner_value(text, "auth id") == auth_id
        assert banner_value(text, "auth token") == auth_token
        assert "made up for this local sandbox" in text and "strict" in text
        assert f"export PLIVO_API_BASE_URL={url}" in text
        with httpx.Client(base_url=f"{url}/v1/Account/{auth_id}", auth=(auth_id, auth_token)) as c:
            assert c.post("/Conference/room/Record/").status_code == 404  # strict: not opened
            c.post(f"{url}/_sandbox/conferences/room")
            assert c.post("/Conference/room/Record/").status_code == 202
    finally:
        stop.set()
        thread.join(20)
    assert codes == [0]
    assert "stopped; started 1 recordings" in out.getvalue()


def test_generated_credentials_are_plivo_shaped():
    thread, stop, out, codes = serve("--faults", "light")
    try:
        text = out.wait_for("press Ctrl-C to stop")
    finally:
        stop.set()
        thread.join(20)
    assert re.fullmatch(r"MA[A-Z0-9]{18}", banner_value(text, "auth id"))
    assert len(banner_value(text, "auth token")) == 40
    assert "faults:      api_error=0.02, drop=0.01, duplicate=0.03, delay=0.05" in text


def test_bad_options_are_reported(capsys):
    assert main(["sandbox", "--port", "0", "--faults", "drop=7"]) == 1
    assert "error: --faults: drop: 7.0 is not a rate from 0 to 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sandbox", "--rate-limit", "lots"])
    assert build_parser().parse_args(["sandbox", "--rate-limit", "300/5"]).rate_limit == (300, 5.0)


def test_ctrl_c_stops_it_cleanly():
    proc = subprocess.Popen([sys.executable, "-m", "recording_toolkit", "sandbox", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        for line in proc.stdout:
            if "press Ctrl-C to stop" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "stopped; started 0 recordings" in out
