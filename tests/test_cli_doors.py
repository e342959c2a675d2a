"""Every door of ``recording-toolkit``: whatever bad argument comes in, one line comes out.

Each sub-command, found in :func:`recording_toolkit.cli.build_parser` (so a new command is
covered as soon as it is registered), is given bad arguments: missing files, folders given as
files and files as folders, outputs that cannot be written, non-numbers for numbers, unknown
options, bad URLs and dates, empty strings, and bytes that are not UTF-8 (as Python receives
them from a shell: lone surrogates, ``surrogateescape``). Each must end with exactly one line
on stderr, naming the command, exit code 1 (an error) or 2 (a usage error), nothing on stdout,
and no traceback.

Two kinds of case:

- usage errors generated from each parser's own options (a typed or multiple-choice option
  given a value its type refuses, an option without its value, a missing positional, an
  unknown option): argparse refuses them before the command runs;
- errors the commands themselves must find, listed per command in :data:`CASES`; a registered
  command with no cases there fails :func:`test_every_command_has_cases_of_its_own`.

They run in-process through ``cli.main(argv)``, with stdout and stderr replaced by streams
that encode as a terminal's do (stdout strict UTF-8, stderr ``backslashreplace``), so an
argument that cannot be printed fails here as it would for a user. A few run as real
processes, with undecodable bytes in ``argv``. Nothing listens on ``127.0.0.1:1``, the API
base URL every case is given, so no case reaches a network.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from recording_toolkit.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
#: Nothing listens here: a request fails at once with "connection refused".
NOWHERE = "http://127.0.0.1:1"
#: A name of bytes that are not UTF-8 (``caf\xe9`` from a Latin-1 shell), as argv holds it.
NOT_UTF8 = os.fsdecode(b"caf\xe9")

pytestmark = pytest.mark.timeout(120)


def _commands() -> dict[str, argparse.ArgumentParser]:
    """The registered sub-commands by name (aliases left out)."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    seen: dict[int, str] = {}
    for name, sub in action.choices.items():
        seen.setdefault(id(sub), name)
    return {name: action.choices[name] for name in seen.values()}


COMMANDS = _commands()


# -- the cases each command must refuse --------------------------------------------------------
# (argv, what the error line must contain or None, environment changes: name -> value or None)
# Paths in braces are made by the `paths` fixture: {file} an empty file, {folder} an empty
# folder, {missing} a path to nothing, {noise} random bytes, {log} a callback log, {logs} a
# folder holding it, {journal} a request journal, {full} a folder of someone else's files,
# {tmp} the test's folder, {busy} a port something listens on, {badrates} a rates file with
# currency = 5.

CASES: dict[str, list[tuple[list[str], str | None, dict[str, str | None]]]] = {
    "start": [
        ([""], "CONFERENCE", {}),
        (["x" * 70_000], "CONFERENCE", {}),
        (["\U0001F600" * 10_000], "CONFERENCE", {}),
        ([NOT_UTF8], "CONFERENCE", {}),
        (["a\ud800b"], "CONFERENCE", {}),
        (["room"], "could not connect", {}),
        (["room", "--base-url", "notaurl"], "notaurl", {}),
        (["room", "--base-url", "ftp://example.com"], "ftp://example.com", {}),
        (["room", "--timeout", "nan"], "timeout", {}),
        (["room", "--timeout", "-1"], "timeout", {}),
        (["room", "--journal", "{folder}"], "--journal", {}),
        (["room", "--journal", "{file}/journal.jsonl"], "--journal", {}),
        (["room", "--journal", "/proc/no-such/journal.jsonl"], "--journal", {}),
        (["room", "--auth-id", "bogus"], "--auth-id", {}),
        (["room", "--auth-id", ""], "--auth-id", {}),
        (["room", "--callback-url", "notaurl"], "--callback-url", {}),
        (["room", "--transcribe"], "--transcription-url", {}),
        (["room", "--transcribe", "--transcription-url", ""], "--transcription-url", {}),
        (["room"], "PLIVO_AUTH_TOKEN", {"PLIVO_AUTH_TOKEN": None}),
        (["room"], "PLIVO_AUTH_ID", {"PLIVO_AUTH_ID": "not-an-id"}),
    ],
    "stop": [
        ([""], "CONFERENCE", {}),
        (["x" * 70_000], "CONFERENCE", {}),
        ([NOT_UTF8], "CONFERENCE", {}),
        (["room"], "could not connect", {}),
        (["room", "--timeout", "0"], "timeout", {}),
        (["room", "--journal", "{folder}"], "--journal", {}),
        (["room", "--base-url", "notaurl"], "notaurl", {}),
        (["room"], "PLIVO_AUTH_TOKEN", {"PLIVO_AUTH_TOKEN": None}),
    ],
    "receive": [
        (["--log-dir", "{file}"], "--log-dir", {}),
        (["--log-dir", "{file}/callbacks"], "--log-dir", {}),
        (["--log-dir", "/proc/no-such/callbacks"], "--log-dir", {}),
        (["--public-url", "notaurl", "--log-dir", "{tmp}/not-made"], "--public-url", {}),
        (["--port", "{busy}", "--log-dir", "{tmp}/not-made"], "{busy}", {}),
        (["--host", "no-such-host.invalid", "--port", "0", "--log-dir", "{tmp}/not-made"],
         "no-such-host.invalid", {}),
        (["--port", "0", "--log-dir", "{tmp}/not-made"], "PLIVO_AUTH_TOKEN",
         {"PLIVO_AUTH_TOKEN": None}),
        (["--workers", "2", "--port", "{busy}", "--log-dir", "{tmp}/not-made"], "{busy}", {}),
        (["--workers", "2", "--instance-id", "x" * 79, "--port", "0", "--log-dir",
          "{tmp}/not-made"], "--instance-id", {}),
    ],
    "sandbox": [
        (["--port", "{busy}"], "--port", {}),
        (["--host", "no-such-host.invalid", "--port", "0"], "--host", {}),
        (["--host", "", "--port", "0"], "--host", {}),
        (["--time-scale", "0", "--port", "0"], "--time-scale", {}),
        (["--time-scale", "nan", "--port", "0"], "--time-scale", {}),
        (["--auth-id", "bogus", "--port", "0"], "--auth-id", {}),
        (["--auth-token", "", "--port", "0"], "--auth-token", {}),
        (["--auth-token", NOT_UTF8, "--port", "0"], "--auth-token", {}),
        (["--faults", "bogus", "--port", "0"], "--faults", {}),
        (["--faults", "drop=7", "--port", "0"], "--faults", {}),
        (["--rate-limit", "0/5", "--port", "0"], "--rate-limit", {}),
        (["--transcription-rate", "-1", "--port", "0"], "--transcription-rate", {}),
        (["--port", "0"], "RECORDING_TOOLKIT_RATE_CURRENCY",
         {"RECORDING_TOOLKIT_RATE_CURRENCY": "5"}),
    ],
    "demo": [
        (["--out", "{file}"], "--out", {}),
        (["--out", "{file}/demo"], "--out", {}),
        (["--out", "/proc/no-such/demo"], "--out", {}),
        (["--out", "{full}"], "--out", {}),
        (["--out", ""], "--out", {}),
        (["--faults", "bogus", "--out", "{tmp}/not-made"], "--faults", {}),
    ],
    "report": [
        (["{missing}"], "no such file or folder", {}),
        (["{folder}"], "no log files found", {}),
        ([""], None, {}),
        (["{tmp}/" + NOT_UTF8 + ".jsonl"], "no such file or folder", {}),
        (["http://127.0.0.1:1/callbacks.jsonl"], None, {}),
        (["s3://no-such-bucket/callbacks.jsonl"], None, {}),
        (["{log}", "--html", "{folder}"], "--html", {}),
        (["{log}", "--html", "{file}/report.html"], "--html", {}),
        (["{log}", "--html", "/proc/no-such/report.html"], "--html", {}),
        (["{log}", "--html", ""], "--html", {}),
        (["{log}", "--csv", "{file}"], "--csv", {}),
        (["{log}", "--csv", "/proc/no-such/tables"], "--csv", {}),
        (["{log}", "--journal", "{missing}"], "--journal", {}),
        (["{log}", "--journal", "{folder}"], "--journal", {}),
        (["{log}", "--journal", "{noise}"], "--journal", {}),
        (["{log}", "--journal", "{log}"], "--journal", {}),
        (["{log}", "--journal", "{file}"], "--journal", {}),
        (["{log}", "--since", "soon"], "--since", {}),
        (["{log}", "--since", ""], "--since", {}),
        (["{log}", "--since", "2026-13-45"], "--since", {}),
        (["{log}", "--until", NOT_UTF8], "--until", {}),
        (["{log}", "--since", "2026-11-05", "--until", "2026-11-01"], "--until", {}),
        (["{log}", "--conference", NOT_UTF8], "--conference", {}),
        (["{log}", "--rates", "{missing}"], "rate card", {}),
        (["{log}", "--rates", "{folder}"], "rate card", {}),
        (["{log}", "--rates", "{noise}"], "rate card", {}),
        (["{log}", "--rates", "{badrates}"], "currency", {}),
        (["{log}", "--teams", "{missing}"], "teams file", {}),
        (["{log}", "--teams", "{folder}"], "teams file", {}),
        (["{log}", "--teams", "{noise}"], "teams file", {}),
        (["{log}", "--teams", "{badrates}"], "line 1: unknown key 'currency'", {}),
        (["{log}", "--currency", "5"], "--currency", {}),
        (["{log}", "--currency", ""], "--currency", {}),
        (["{log}", "--transcription-rate", "-1"], "--transcription-rate", {}),
        (["{log}", "--storage-rate", "inf"], "--storage-rate", {}),
        (["{log}", "--free-storage-days", "-3"], "--free-storage-days", {}),
        (["{log}"], "RECORDING_TOOLKIT_RATE_CURRENCY", {"RECORDING_TOOLKIT_RATE_CURRENCY": "5"}),
        (["{log}"], "RECORDING_TOOLKIT_RATE_FREE_STORAGE_DAYS",
         {"RECORDING_TOOLKIT_RATE_FREE_STORAGE_DAYS": "1.5"}),
    ],
    "search": [
        (["{missing}", "deploy"], "no such file or folder", {}),
        (["{folder}", "deploy"], "no log files found", {}),
        (["{log}", ""], "QUERY", {}),
        (["{log}", NOT_UTF8], "QUERY", {}),
        (["{log}", "(", "--regex"], "QUERY '('", {}),
        (["{log}", "a*", "--regex"], "QUERY 'a*'", {}),
        (["{log}", "(?<=x)a", "--regex"], "QUERY", {}),
        (["{log}", "deploy", "--csv", "{folder}"], "--csv", {}),
        (["{log}", "deploy", "--csv", "{file}/hits.csv"], "--csv", {}),
        (["{log}", "deploy", "--csv", "/proc/no-such/hits.csv"], "--csv", {}),
        (["{log}", "deploy", "--csv", ""], "--csv", {}),
        (["{log}", "deploy", "--json", "--csv", "{tmp}/hits.csv"], "not allowed", {}),
    ],
    "dashboard": [
        (["{missing}"], "no such file or folder", {}),
        (["{folder}"], "no log files found", {}),
        ([""], "SOURCE", {}),
        (["{tmp}/*.jsonl"], "matches no file", {}),
        (["{log}", "--journal", "{missing}"], "--journal", {}),
        (["{log}", "--journal", "{noise}"], "--journal", {}),
        (["{log}", "--journal", "{log}"], "--journal", {}),
        (["{log}", "--rates", "{missing}"], "rate card", {}),
        (["{log}", "--rates", "{badrates}"], "currency", {}),
        (["{log}", "--teams", "{missing}"], "teams file", {}),
        (["{log}", "--teams", "{badrates}"], "line 1: unknown key 'currency'", {}),
        (["{log}", "--host", "nowhere.example"], "--host", {}),
        (["{log}", "--host", ""], "--host", {}),
        (["{log}", "--port", "{busy}"], "--port", {}),
        (["{log}"], "RECORDING_TOOLKIT_RATE_CURRENCY", {"RECORDING_TOOLKIT_RATE_CURRENCY": "5"}),
    ],
    "backfill": [
        (["{missing}", "--journal", "{journal}"], "log folder", {}),
        (["{file}", "--journal", "{journal}"], "not a folder", {}),
        (["", "--journal", "{journal}"], None, {}),
        (["{logs}", "--journal", "{missing}"], "--journal", {}),
        (["{logs}", "--journal", "{folder}"], "--journal", {}),
        (["{logs}", "--journal", "{noise}"], "--journal", {}),
        (["{logs}", "--journal", "{log}"], "--journal", {}),
        (["{logs}", "--journal", "{journal}", "--failed-ids", "/proc/no-such/failed.txt"],
         "--failed-ids", {}),
        (["{logs}", "--journal", "{journal}", "--failed-ids", "{folder}"], "--failed-ids", {}),
        (["{logs}", "--journal", "{journal}", "--failed-ids", "{file}/failed.txt"],
         "--failed-ids", {}),
        (["{logs}", "--journal", "{journal}", "--since", "yesterday"], "--since", {}),
        (["{logs}", "--journal", "{journal}", "--until", ""], "--until", {}),
        (["{logs}", "--journal", "{journal}", "--timeout", "0"], "--timeout", {}),
        (["{logs}", "--journal", "{journal}", "--base-url", "notaurl"], "--base-url: 'notaurl'",
         {}),
        (["{logs}", "--journal", "{journal}"], "127.0.0.1", {}),
        (["{logs}", "--journal", "{journal}"], "PLIVO_AUTH_TOKEN", {"PLIVO_AUTH_TOKEN": None}),
    ],
    "recordings": [
        ([], "ACTION", {}),
        (["bogus"], "bogus", {}),
        (["list", "--storage-days-gt", "-1"], "--storage-days-gt", {}),
        (["list", "--storage-days", "2.5"], "--storage-days", {}),
        (["list", "--add-time-gt", "soon"], "--add-time-gt", {}),
        (["list", "--add-time-lte", NOT_UTF8], "--add-time-lte", {}),
        (["list", "--conference-name", ""], "--conference-name", {}),
        (["list", "--to-number", "1415\n"], "--to-number", {}),
        (["list", "--since", "soon"], "--since", {}),
        (["list", "--since", "2026-11-05", "--until", "2026-11-01"], "--since", {}),
        (["list", "--add-time-gt", "2026-11-01", "--since", "2026-10-01"], "--since", {}),
        (["list", "--csv", "{folder}"], "--csv", {}),
        (["list", "--csv", "{file}/x.csv"], "--csv", {}),
        (["list", "--csv", "/proc/no-such/x.csv"], "--csv", {}),
        (["list", "--json", "--csv", "{tmp}/x.csv"], "not allowed", {}),
        (["list", "--timeout", "0"], "--timeout", {}),
        (["list", "--base-url", "notaurl"], "--base-url", {}),
        (["list"], "127.0.0.1", {}),
        (["list"], "PLIVO_AUTH_TOKEN", {"PLIVO_AUTH_TOKEN": None}),
        (["list", "--auth-id", "bogus"], "--auth-id", {}),
        (["download"], "required", {}),
        (["download", "r1"], "--to", {}),
        (["download", "", "--to", "{tmp}/dl"], "IDS", {}),
        (["download", NOT_UTF8, "--to", "{tmp}/dl"], "IDS", {}),
        (["download", "r1", "--to", "{file}"], "--to", {}),
        (["download", "r1", "--to", "{file}/dl"], "--to", {}),
        (["download", "r1", "--to", "/proc/no-such/dl"], "--to", {}),
        (["download", "r1", "--to", ""], "--to", {}),
        (["download", "r1", "--to", "{tmp}/dl", "--concurrency", "0"], "--concurrency", {}),
        (["download", "r1", "--to", "{tmp}/dl", "--concurrency", "x"], "--concurrency", {}),
        (["download", "r1", "--to", "{tmp}/dl", "--timeout", "nan"], "--timeout", {}),
        (["download", "r1", "--to", "{tmp}/dl"], "PLIVO_AUTH_TOKEN", {"PLIVO_AUTH_TOKEN": None}),
    ],
    "doctor": [
        (["--public-url", "notaurl"], "--public-url", {}),
        (["--public-url", ""], "--public-url", {}),
        (["--public-url", NOT_UTF8], "--public-url", {}),
        (["--public-url", "https://callbacks.example.com/x?a=1"], "--public-url", {}),
        (["--base-url", "notaurl"], "--base-url", {}),
        (["--base-url", "ftp://example.com"], "ftp://example.com", {}),
        (["--timeout", "nan"], "--timeout", {}),
        (["--timeout", "-1"], "--timeout", {}),
        (["--log-dir", ""], "--log-dir", {}),
    ],
    "retention": [
        (["--keep-days", "x"], "--keep-days", {}),
        (["--keep-days", "-1"], "--keep-days", {}),
        (["--keep-days", "nan"], "--keep-days", {}),
        (["--keep-days", ""], "--keep-days", {}),
        (["--keep-days", "30", "--since", "soon"], "--since", {}),
        (["--keep-days", "30", "--since", "2999-01-01"], "--since", {}),
        (["--keep-days", "30", "--conference", ""], "--conference", {}),
        (["--keep-days", "30", "--conference", NOT_UTF8], "--conference", {}),
        (["--keep-days", "30", "--download-to", "{tmp}/dl"], "--apply", {}),
        (["--keep-days", "30", "--apply", "--download-to", "{file}"], "--download-to", {}),
        (["--keep-days", "30", "--apply", "--download-to", "/proc/no-such/dl"], "--download-to",
         {}),
        (["--keep-days", "30", "--journal", "{folder}"], "--journal", {}),
        (["--keep-days", "30", "--journal", "/proc/no-such/journal.jsonl"], "--journal", {}),
        (["--keep-days", "30", "--timeout", "0"], "--timeout", {}),
        (["--keep-days", "30", "--base-url", "notaurl"], "--base-url", {}),
        (["--keep-days", "30"], "127.0.0.1", {}),
        (["--keep-days", "30"], "PLIVO_AUTH_TOKEN", {"PLIVO_AUTH_TOKEN": None}),
        (["--keep-days", "30"], "RECORDING_TOOLKIT_RATE_CURRENCY",
         {"RECORDING_TOOLKIT_RATE_CURRENCY": "5"}),
    ],
}


def _usage_cases() -> Iterator[tuple[str, list[str], str]]:
    """(command, argv, what the line names) for the usage errors each parser must refuse."""
    for name, sub in COMMANDS.items():
        # with what the command requires given, so that the unknown option is what is named
        required = [arg for action in sub._actions if action.required
                    for arg in (action.option_strings[-1:] + ["x"])]
        yield name, [name, *required, "--no-such-option"], "--no-such-option"
        positionals = [a for a in sub._actions if not a.option_strings]
        if any(a.nargs not in ("?", "*") for a in positionals):
            yield name, [name], "required"
        for action in sub._actions:
            if not action.option_strings or action.nargs is not None or \
                    isinstance(action, argparse._HelpAction):
                continue  # flags without a value, --help
            flag = max(action.option_strings, key=len)
            yield name, [name, flag], flag
            for bad in ("not-a-number", "", NOT_UTF8, "1e999999", "-0x1"):
                if _refused(action, bad):
                    yield name, [name, flag, bad], flag


def _refused(action: argparse.Action, value: str) -> bool:
    """Whether argparse refuses ``value`` for ``action`` before the command runs."""
    try:
        converted = action.type(value) if callable(action.type) else value
    except (argparse.ArgumentTypeError, TypeError, ValueError):
        return True
    return action.choices is not None and converted not in action.choices


USAGE_CASES = list(_usage_cases())


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
def paths(tmp_path) -> dict[str, str]:
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "noise.bin").write_bytes(os.urandom(4096).replace(b"\n", b"") + b"\n" +
                                         os.urandom(512))
    logs = tmp_path / "logs"
    logs.mkdir()
    log = sorted((DATA / "callbacks").glob("*.jsonl"))[0]
    shutil.copy(log, logs / log.name)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("someone else's")
    (tmp_path / "bad-rates.toml").write_text("currency = 5\n")
    return {"file": str(tmp_path / "a-file"), "folder": str(tmp_path / "a-folder"),
            "missing": str(tmp_path / "no-such-thing"), "noise": str(tmp_path / "noise.bin"),
            "log": str(logs / log.name), "logs": str(logs), "journal": str(DATA / "journal.jsonl"),
            "full": str(tmp_path / "full"), "tmp": str(tmp_path),
            "badrates": str(tmp_path / "bad-rates.toml")}


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something listens on, for as long as the test runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def environment(monkeypatch, tmp_path, auth_id, auth_token):
    """Credentials that look right, an API nobody serves, and defaults inside tmp_path."""
    for name in [n for n in os.environ if n.startswith(("PLIVO_", "RECORDING_TOOLKIT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PLIVO_AUTH_ID", auth_id)
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", auth_token)
    monkeypatch.setenv("PLIVO_API_BASE_URL", NOWHERE)
    monkeypatch.setenv("RECORDING_TOOLKIT_DATA_DIR", str(tmp_path / "data-dir"))
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def run(argv: list[str], monkeypatch) -> tuple[int | str | None, str, str]:
    """``main(argv)`` with a terminal's streams: (exit code, stdout, stderr)."""
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace",
                           write_through=True)
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code
        except Exception as exc:  # noqa: BLE001 - what a user would see as a traceback
            print(f"Traceback (most recent call last): {type(exc).__name__}: {exc}", file=err)
            code = None
    return (code, out_bytes.getvalue().decode("utf-8", "backslashreplace"),
            err_bytes.getvalue().decode("utf-8", "backslashreplace"))


def assert_one_line(command: str, code, out: str, err: str, *, says: str | None) -> None:
    assert "Traceback" not in err, err
    assert code in (1, 2), (code, err)
    assert err.endswith("\n") and len(err.splitlines()) == 1, err
    # a command with actions of its own (``recordings list``) may name the action too
    assert re.match(rf"recording-toolkit {command}( [a-z]+)?: ", err), err
    assert out == "", out
    if says is not None:
        assert says in err, err
    if code == 2:
        assert err.rstrip().endswith("(see --help)"), err


# -- tests -------------------------------------------------------------------------------------

def test_every_command_has_cases_of_its_own():
    """A new command is found by the usage cases at once; its own errors must be listed too."""
    assert set(CASES) == set(COMMANDS), ("commands without door cases:",
                                         sorted(set(COMMANDS) - set(CASES)))
    assert all(len(cases) >= 5 for cases in CASES.values())


@pytest.mark.parametrize(("command", "argv", "says"), USAGE_CASES,
                         ids=[" ".join(c[1])[:60] for c in USAGE_CASES])
def test_usage_errors_are_one_line_exit_2(environment, command, argv, says):
    code, out, err = run(argv, environment)
    assert code == 2
    assert_one_line(command, code, out, err, says=says)


def _case_ids() -> list[tuple[str, list[str], str | None, dict[str, str | None]]]:
    return [(command, argv, says, env) for command, cases in CASES.items()
            for argv, says, env in cases]


@pytest.mark.parametrize(("command", "argv", "says", "env"), _case_ids(),
                         ids=[f"{c} {' '.join(a)[:50]} {sorted(e)}" for c, a, _, e in _case_ids()])
def test_bad_arguments_are_one_line_exit_1_or_2(environment, paths, busy_port, tmp_path,
                                                 command, argv, says, env):
    for name, value in env.items():
        if value is None:
            environment.delenv(name, raising=False)
        else:
            environment.setenv(name, value)
    fill = {**paths, "busy": str(busy_port)}
    argv = [command, *(arg.format(**fill) for arg in argv)]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(argv, environment)
    assert_one_line(command, code, out, err, says=None if says is None else says.format(**fill))
    # refused before touching anything: no folder made, no file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (Path(paths["file"]).read_text(), os.listdir(paths["folder"])) == ("", [])


@pytest.mark.parametrize("argv", [
    [b"report", b"caf\xe9.jsonl"],
    [b"start", b"caf\xe9"],
    [b"report", b"--no-such-option", b"\xff"],
])
def test_undecodable_bytes_on_a_real_command_line(tmp_path, argv, auth_id, auth_token):
    """As a shell passes them: bytes that are not UTF-8, through a real process's argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLIVO_",
                                                                       "RECORDING_TOOLKIT_"))}
    env.update(PLIVO_AUTH_ID=auth_id, PLIVO_AUTH_TOKEN=auth_token, PLIVO_API_BASE_URL=NOWHERE,
               PYTHONIOENCODING="", LC_ALL="C.UTF-8")
    done = subprocess.run([os.fsencode(os.path.abspath(sys.executable)), b"-m", b"recording_toolkit", *argv],
                          cwd=tmp_path, env=env, capture_output=True, timeout=60)
    err = done.stderr.decode("utf-8", "backslashreplace")
    assert_one_line(argv[0].decode(), done.returncode, done.stdout.decode(), err, says=None)


def test_a_port_in_use_is_named_by_a_real_sandbox(tmp_path, busy_port):
    done = subprocess.run([os.path.abspath(sys.executable), "-m", "recording_toolkit", "sandbox", "--port",
                           str(busy_port)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"recording-toolkit sandbox: error: --port: 127.0.0.1:{busy_port} is"
                           " already in use (another sandbox?); stop what holds it, or pick"
                           " another --port (--port 0 picks a free one)\n")
