"""``recording-toolkit receive`` (commands/receive.py)."""

from __future__ import annotations

import json
import os
import queue
import resource
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from recording_toolkit.cli import build_parser
from recording_toolkit.commands.receive import run
from recording_toolkit.errors import ConfigurationError
from recording_toolkit.signature import signed_headers

TOKEN = "cli-receive-token-0123456789abcdef"
RECORDING = {"recording_id": "rec-1", "record_url": "https://m/rec-1.mp3",
             "recording_duration_ms": "1000"}


class Receive:
    """The command in a subprocess; ``lines`` holds what it printed, in order."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "recording_toolkit", "receive", "--port", "0", *args],
            env=env if env is not None else {**os.environ, "PLIVO_AUTH_TOKEN": TOKEN},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._queue: queue.Queue[str] = queue.Queue()
        self.lines: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        self.stderr = ""

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))

    def wait_for_line(self, text: str, timeout: float = 30) -> str:
        while True:
            line = self._queue.get(timeout=timeout)
            self.lines.append(line)
            if text in line:
                return line

    def started(self) -> dict[str, str]:
        """The URLs it printed once serving."""
        self.wait_for_line("press Ctrl-C to stop")
        found = {}
        for line in self.lines:
            for key in ("listening on", "recording callback:", "transcription:"):
                if key in line:
                    found[key] = line.split(key, 1)[1].strip()
        return found

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self._pump_thread.join(10)
            while not self._queue.empty():
                self.lines.append(self._queue.get())
            self.stderr = self.proc.stderr.read()
            self.proc.stdout.close()
            self.proc.stderr.close()
        return code


def stored(log_dir: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(log_dir.glob("callbacks-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def test_options_and_defaults():
    args = build_parser().parse_args(["receive"])
    assert (args.host, args.port, args.verify, args.trust_forwarded) == ("127.0.0.1", 8000, True,
                                                                        False)
    args = build_parser().parse_args([
        "receive", "--host", "0.0.0.0", "--port", "9000", "--log-dir", "logs", "--auth-token",
        "a", "--auth-token", "b", "--public-url", "https://x", "--no-verify", "--trust-forwarded"])
    assert args.auth_token == ["a", "b"] and args.public_url == "https://x"
    assert not args.verify and args.trust_forwarded and args.log_dir == "logs"
    assert (args.body_timeout, args.max_connections) == (15.0, None)
    args = build_parser().parse_args(["receive", "--body-timeout", "2.5", "--max-connections",
                                      "40"])
    assert (args.body_timeout, args.max_connections) == (2.5, 40)


def test_help_names_every_option(capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["receive", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--host", "--port", "--log-dir", "--auth-token", "--public-url", "--no-verify",
                   "--trust-forwarded", "PLIVO_AUTH_TOKEN", "--body-timeout", "408",
                   "--max-connections", "503", "ulimit -n"):
        assert option in text


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_prints_its_urls_and_stops_cleanly(tmp_path, sig):
    receive = Receive("--log-dir", str(tmp_path))
    try:
        urls = receive.started()
        assert urls["listening on"].startswith("http://127.0.0.1:")
        url = urls["recording callback:"]
        assert url == urls["listening on"] + "/callbacks/recording"
        assert urls["transcription:"] == urls["listening on"] + "/callbacks/transcription"
        response = httpx.post(url, data=RECORDING,
                              headers=signed_headers(TOKEN, "1", "POST", url, RECORDING))
        assert response.status_code == 200 and response.json()["status"] == "stored"
        assert httpx.post(url, data=RECORDING).status_code == 403
    finally:
        code = receive.stop(sig)
    assert code == 0
    assert f"stopped ({signal.Signals(sig).name}); stored 1 recording" in receive.lines[-1]
    assert "1 rejected" in receive.lines[-1]
    assert "Traceback" not in receive.stderr
    assert TOKEN not in "\n".join(receive.lines) + receive.stderr
    assert [line["payload"] for line in stored(tmp_path)] == [RECORDING]


def test_public_url_is_printed_and_verified_against(tmp_path):
    receive = Receive("--log-dir", str(tmp_path), "--public-url", "https://cb.example.com/")
    try:
        urls = receive.started()
        public = urls["recording callback:"]
        assert public == "https://cb.example.com/callbacks/recording"
        local = urls["listening on"] + "/callbacks/recording"
        ok = httpx.post(local, data=RECORDING,
                        headers=signed_headers(TOKEN, "1", "POST", public, RECORDING))
        assert ok.status_code == 200
    finally:
        assert receive.stop() == 0


def test_token_given_on_the_command_line_and_no_verify(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PLIVO_AUTH_TOKEN"}
    receive = Receive("--log-dir", str(tmp_path), "--no-verify", env=env)
    try:
        urls = receive.started()
        assert any("signatures:" in line and "OFF" in line for line in receive.lines)
        assert httpx.post(urls["recording callback:"], data=RECORDING).status_code == 200
    finally:
        assert receive.stop() == 0
    assert stored(tmp_path)[0]["verified"] is False


def test_missing_token_exits_1_with_a_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PLIVO_AUTH_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "recording_toolkit", "receive", "--port", "0", "--log-dir",
         str(tmp_path)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == ("recording-toolkit receive: error: --auth-token: missing; pass"
                             " --auth-token or set PLIVO_AUTH_TOKEN (or --no-verify to accept"
                             " unsigned callbacks)\n")
    assert result.stdout == ""


def run_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recording_toolkit", "receive", "--port", "0", *args],
        env={**os.environ, "PLIVO_AUTH_TOKEN": TOKEN}, capture_output=True, text=True,
        timeout=60)


def test_a_log_dir_that_is_a_file_is_one_line_naming_the_option(tmp_path):
    file = tmp_path / "hostname"
    file.write_text("x\n")
    result = run_command("--log-dir", str(file))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (f"recording-toolkit receive: error: --log-dir: {str(file)!r} is a"
                             " file, not a folder\n")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--public-url", "notaurl", "--public-url: 'notaurl' is not an absolute http(s) URL"),
    ("--public-url", "http://[::1", "--public-url: 'http://[::1' is not an absolute http(s)"),
    ("--instance-id", "../up", "--instance-id: '../up' is not usable in a file name"),
    ("--max-connections", "the open-file limit", "connections need more file descriptors than"
                                                 " this process may open"),
    ("--max-connections", "0", "argument --max-connections: 0 is not a whole number"),
    ("--main-account-token", " , ", "--main-account-token: given but empty"),
    ("--body-timeout", "-1", "argument --body-timeout: -1 is not a number of seconds"),
    ("--body-timeout", "nan", "argument --body-timeout: nan is not a number of seconds"),
])
def test_a_bad_option_is_refused_before_the_log_folder_is_created(tmp_path, option, value,
                                                                  message):
    if value == "the open-file limit":
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            pytest.skip("no open-file limit to go over")
        value = str(soft)
    log_dir = tmp_path / "logs"
    result = run_command("--log-dir", str(log_dir), option, value)
    assert result.returncode in (1, 2)
    [line] = result.stderr.splitlines()
    assert message in line and "Traceback" not in result.stderr
    assert not log_dir.exists()


def test_run_reads_the_token_from_the_injected_environment(tmp_path):
    args = build_parser().parse_args(["receive", "--port", "0", "--log-dir", str(tmp_path)])
    with pytest.raises(ConfigurationError, match="PLIVO_AUTH_TOKEN"):
        run(args, environ={})


def test_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        args = build_parser().parse_args(["receive", "--port", str(port), "--log-dir",
                                          str(tmp_path)])
        with pytest.raises(ConfigurationError, match=f"cannot listen on 127.0.0.1:{port}"):
            run(args, environ={"PLIVO_AUTH_TOKEN": TOKEN})


def test_the_command_runs_as_a_module_too():
    result = subprocess.run([sys.executable, "-m", "recording_toolkit", "receive", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--public-url" in result.stdout


def _post_on_a_new_connection(url: str, payload: dict[str, str], nonce: str) -> httpx.Response:
    # one connection per request, so the kernel spreads them over the workers
    with httpx.Client(timeout=10) as client:
        return client.post(url, data=payload,
                           headers=signed_headers(TOKEN, nonce, "POST", url, payload))


def test_workers_share_the_port_and_every_callback_is_loaded_once(tmp_path):
    from recording_toolkit import load_callbacks

    receive = Receive("--log-dir", str(tmp_path), "--workers", "2", "--instance-id", "rx")
    payloads = [{**RECORDING, "recording_id": f"rec-{i:02d}", "record_url": f"https://m/{i}.mp3"}
                for i in range(40)]
    try:
        url = receive.started()["recording callback:"]
        assert any("workers:" in line and "2 processes" in line for line in receive.lines)
        for i, payload in enumerate(payloads):
            response = _post_on_a_new_connection(url, payload, str(1000 + i))
            assert response.status_code == 200 and response.json()["status"] == "stored"
        for i, payload in enumerate(payloads[:10]):  # Plivo redelivers: any worker may get it
            response = _post_on_a_new_connection(url, payload, str(2000 + i))
            assert response.status_code == 200
            assert response.json()["status"] in ("stored", "duplicate")
    finally:
        code = receive.stop()
    assert code == 0 and "Traceback" not in receive.stderr
    files = sorted(tmp_path.glob("callbacks-*.jsonl"))
    # each worker wrote its own file, and every line in them is whole
    assert [path.name.rsplit("-", 2)[-2:] for path in files] == [["rx", "1.jsonl"],
                                                                 ["rx", "2.jsonl"]]
    lines = stored(tmp_path)
    assert all(line["verified"] is True for line in lines)
    assert {line["payload"]["recording_id"] for line in lines} == {p["recording_id"]
                                                                    for p in payloads}
    assert f"stored {len(lines)} recording" in receive.lines[-1]
    assert not list(tmp_path.glob(".callbacks-*.lock"))  # both logs were closed
    loaded = load_callbacks(tmp_path)
    assert sorted(loaded.recordings["recording_id"]) == [p["recording_id"] for p in payloads]


def test_a_worker_that_cannot_start_stops_the_others_and_the_command_exits_1(tmp_path):
    from recording_toolkit.callback_log import CallbackLog

    with CallbackLog(tmp_path, instance_id="rx-2"):  # worker 2's id, already writing
        result = run_command("--log-dir", str(tmp_path), "--workers", "2", "--instance-id", "rx")
    assert result.returncode == 1 and "press Ctrl-C" not in result.stdout
    [line] = [line for line in result.stderr.splitlines() if "error:" in line]
    assert "worker 2: instance_id 'rx-2' is already writing" in line
    assert not list(tmp_path.glob(".callbacks-rx-1.lock"))  # worker 1 stopped and closed its log


def test_workers_need_a_free_port(tmp_path):
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        args = build_parser().parse_args(["receive", "--port", str(port), "--workers", "2",
                                          "--log-dir", str(tmp_path)])
        with pytest.raises(ConfigurationError, match=f"cannot listen on 127.0.0.1:{port}"):
            run(args, environ={"PLIVO_AUTH_TOKEN": TOKEN})


@pytest.mark.parametrize(("argv", "message"), [
    (["--workers", "0"], "argument --workers: 0 is not a number of worker processes (1 to 64)"),
    (["--workers", "65"], "argument --workers: 65 is not a number of worker processes"),
    (["--workers", "2", "--instance-id", "x" * 79], "--instance-id: 'xxx"),
])
def test_bad_workers_options_are_refused_before_anything_starts(tmp_path, argv, message):
    log_dir = tmp_path / "logs"
    result = run_command("--log-dir", str(log_dir), *argv)
    assert result.returncode in (1, 2) and message in result.stderr
    assert not log_dir.exists()


def test_workers_are_refused_outside_the_main_thread(tmp_path):
    args = build_parser().parse_args(["receive", "--port", "0", "--workers", "2", "--log-dir",
                                      str(tmp_path)])
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run(args, environ={"PLIVO_AUTH_TOKEN": TOKEN})
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    assert len(errors) == 1 and isinstance(errors[0], ConfigurationError)
    assert "--workers" in str(errors[0])
    assert not list(tmp_path.glob("callbacks-*"))


def test_a_worker_that_dies_stops_the_others_and_the_command_exits_1(tmp_path):
    receive = Receive("--log-dir", str(tmp_path), "--workers", "2", "--instance-id", "rx")
    try:
        receive.started()
        [line] = [line for line in receive.lines if "workers:" in line]
        first, second = (int(pid) for pid in line.split("(pids ")[1].rstrip(")").split(", "))
        os.kill(first, signal.SIGKILL)
        code = receive.proc.wait(60)
    finally:
        receive.stop()
    assert code == 1
    assert "recording-toolkit-receive-1 exited with code -9" in receive.stderr
    with pytest.raises(ProcessLookupError):  # the other worker was stopped too
        os.kill(second, 0)
    assert not list(tmp_path.glob(".callbacks-rx-2.lock"))  # and closed its log
