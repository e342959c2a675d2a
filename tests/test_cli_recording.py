"""``recording-toolkit start`` / ``stop`` (commands/recording.py)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import httpx
import pytest
from plivo_fake import TOKEN, FakePlivo, answer, assert_no_token, started

from recording_toolkit.cli import build_parser, main
from recording_toolkit.commands.recording import run_start, run_stop
from recording_toolkit.errors import ConfigurationError, NotFoundError, ValidationError
from recording_toolkit.server import BackgroundServer

AUTH_ID = "MATESTACCOUNT0000001"
ENV = {"PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN}


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


def test_start_prints_plivos_answer_as_json_and_sends_every_option(tmp_path):
    fake = FakePlivo(started("rec-7", "api-7"))
    out = io.StringIO()
    journal = tmp_path / "journal.jsonl"
    args = parse("start", "My Conf Room", "--file-format", "WAV", "--transcribe",
                 "--transcription-url", "https://h/t", "--callback-url", "https://h/c#rc=2",
                 "--callback-method", "get", "--journal", str(journal))
    assert run_start(args, environ=ENV, transport=fake.transport, out=out) == 0
    printed = json.loads(out.getvalue())
    assert printed["recording_id"] == "rec-7" and printed["api_id"] == "api-7"
    assert printed["conference_name"] == "My Conf Room" and printed["requested_at"].endswith("Z")
    assert fake.bodies == [{"conference_name": "My Conf Room", "file_format": "wav",
                            "transcription_type": "auto", "transcription_url": "https://h/t",
                            "callback_url": "https://h/c#rc=2", "callback_method": "GET"}]
    assert fake.requests[0].url.raw_path.decode().endswith("/My%20Conf%20Room/Record/")
    assert json.loads(journal.read_text())["recording_id"] == "rec-7"


def test_stop_prints_what_plivo_answered_and_nothing_it_did_not():
    fake = FakePlivo(answer(204), answer(204, {"api_id": "a-2",
                                               "message": "conference recording stopped"}))
    outs = [io.StringIO(), io.StringIO()]
    for out in outs:
        assert run_stop(parse("stop", "weekly sync"), environ=ENV, transport=fake.transport,
                        out=out) == 0
    bare, full = (json.loads(out.getvalue()) for out in outs)
    assert list(bare) == ["conference_name", "stopped", "status_code", "requested_at"]
    assert (bare["conference_name"], bare["stopped"], bare["status_code"]) == (
        "weekly sync", True, 204)
    assert "null" not in outs[0].getvalue()
    assert (full["api_id"], full["message"]) == ("a-2", "conference recording stopped")
    assert [r.method for r in fake.requests] == ["DELETE", "DELETE"]


def test_base_url_flag_and_environment():
    fake = FakePlivo()
    run_start(parse("start", "x", "--base-url", "http://127.0.0.1:1234"), environ=ENV,
              transport=fake.transport, out=io.StringIO())
    fake2 = FakePlivo()
    run_start(parse("start", "x"), environ={**ENV, "PLIVO_API_BASE_URL": "http://127.0.0.1:99"},
              transport=fake2.transport, out=io.StringIO())
    assert str(fake.requests[0].url).startswith("http://127.0.0.1:1234/v1/Account/")
    assert str(fake2.requests[0].url).startswith("http://127.0.0.1:99/v1/Account/")


def test_errors_propagate_to_the_dispatcher():
    fake = FakePlivo(answer(404, {"api_id": "a", "error": "conference not found"}))
    with pytest.raises(NotFoundError):
        run_start(parse("start", "x"), environ=ENV, transport=fake.transport, out=io.StringIO())
    with pytest.raises(ValidationError, match="--transcribe: needs --transcription-url"):
        run_start(parse("start", "x", "--transcribe"), environ=ENV, transport=fake.transport,
                  out=io.StringIO())
    assert len(fake.requests) == 1  # the invalid one was never sent


def test_usage_errors_exit_2(capsys):
    for argv in (["start"], ["start", "x", "--file-format", "ogg"],
                 ["start", "x", "--callback-method", "PUT"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    capsys.readouterr()


def test_failures_are_one_line_and_exit_1(monkeypatch, capsys):
    monkeypatch.setenv("PLIVO_AUTH_ID", AUTH_ID)
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", TOKEN)
    assert main(["start", "x", "--transcription-url", "https://h/t"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("recording-toolkit start: error: --transcription-url: is only"
                                   " used with --transcribe")
    monkeypatch.delenv("PLIVO_AUTH_ID")
    assert main(["stop", "x"]) == 1
    assert "PLIVO_AUTH_ID" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["start", "stop"])
@pytest.mark.parametrize(("environ", "flags", "says"), [
    ({"PLIVO_AUTH_TOKEN": TOKEN}, [],
     "--auth-id: missing; pass --auth-id or set PLIVO_AUTH_ID"),
    ({"PLIVO_AUTH_ID": AUTH_ID}, [],
     "PLIVO_AUTH_TOKEN: missing; set PLIVO_AUTH_TOKEN (no flag takes it: it would show in the"
     " process list)"),
    ({}, ["--auth-id", AUTH_ID],
     "PLIVO_AUTH_TOKEN: missing; set PLIVO_AUTH_TOKEN (no flag takes it: it would show in the"
     " process list)"),
    ({"PLIVO_AUTH_TOKEN": TOKEN}, ["--auth-id", "MA123"],
     "--auth-id: 'MA123' is not a Plivo auth id"),
    ({"PLIVO_AUTH_ID": "MA123", "PLIVO_AUTH_TOKEN": TOKEN}, [],
     "PLIVO_AUTH_ID: 'MA123' is not a Plivo auth id"),
])
def test_missing_credentials_are_named_by_flag_and_variable(monkeypatch, capsys, command,
                                                            environ, flags, says):
    monkeypatch.delenv("PLIVO_AUTH_ID", raising=False)
    monkeypatch.delenv("PLIVO_AUTH_TOKEN", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    # nothing listens on port 9: a request would fail with a connection error, not this one
    assert main([command, "x", "--base-url", "http://127.0.0.1:9", *flags]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith(f"recording-toolkit {command}: error: {says}")
    assert "auth_id" not in captured.err and "auth_token" not in captured.err
    assert_no_token(captured.err)


def test_an_unwritable_journal_is_refused_before_anything_is_sent(tmp_path, capsys):
    fake = FakePlivo(answer(202, {"api_id": "a", "message": "conference recording started",
                                  "recording_id": "r", "url": "https://m/r.mp3"}))
    (tmp_path / "taken").mkdir()
    (tmp_path / "file.txt").write_text("not a folder")
    taken, through = tmp_path / "taken", tmp_path / "file.txt" / "journal.jsonl"
    for journal, says in [
            (taken, f"--journal: {str(taken)!r} is a folder; give a file path in it, e.g."
                    f" {str(taken / 'journal.jsonl')!r}"),
            (through, f"--journal: cannot write {str(through)!r}:"
                      f" {str(tmp_path / 'file.txt')!r} is a file, not a folder"),
            ("", "--journal: is empty; give a file path")]:
        for run in (run_start, run_stop):
            with pytest.raises(ConfigurationError) as info:
                run(parse(run.__name__[4:], "x", "--journal", str(journal)), environ=ENV,
                    transport=fake.transport, out=io.StringIO())
            assert str(info.value).startswith(says)
    assert fake.requests == []
    good = tmp_path / "logs" / "journal.jsonl"  # a missing folder is made, as for the log
    run_start(parse("start", "x", "--journal", str(good)), environ=ENV,
              transport=fake.transport, out=io.StringIO())
    assert json.loads(good.read_text())["recording_id"] == "r"


@pytest.mark.parametrize("command", ["start", "stop"])
@pytest.mark.parametrize(("argv", "says"), [
    # what Python makes of `$'caf\xe9'` from a shell: the byte kept as a lone surrogate
    (["caf\udce9"], "CONFERENCE: 'caf\\udce9' is not valid Unicode text: character 4 stands"
                    " for the byte 0xe9, which is not UTF-8"),
    (["a" * 70_000], "CONFERENCE: is too long: its 70,000 characters take 70,000 bytes"
                     " percent-encoded in the request URL; the limit is 4,096 bytes"),
    (["\N{GRINNING FACE}" * 10_000], "CONFERENCE: is too long: its 10,000 characters take"
                                     " 120,000 bytes"),
])
def test_a_name_no_url_can_carry_is_one_line_and_exit_1(monkeypatch, capsys, tmp_path, command,
                                                        argv, says):
    monkeypatch.setenv("PLIVO_AUTH_ID", AUTH_ID)
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", TOKEN)
    journal = tmp_path / "journal.jsonl"
    # nothing listens on port 9: a request would fail with a connection error, not this one
    assert main([command, *argv, "--base-url", "http://127.0.0.1:9",
                 "--journal", str(journal)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith(f"recording-toolkit {command}: error: {says}")
    assert "Traceback" not in captured.err and len(captured.err) < 400
    assert not journal.exists()  # arguments are checked before anything is touched


def test_a_callback_url_that_is_not_unicode_is_named_by_its_flag(monkeypatch, capsys):
    monkeypatch.setenv("PLIVO_AUTH_ID", AUTH_ID)
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", TOKEN)
    assert main(["start", "x", "--base-url", "http://127.0.0.1:9",
                 "--callback-url", "https://h/caf\udce9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("recording-toolkit start: error: --callback-url: 'https://h/caf\\udce9'"
                          " is not valid Unicode text")
    assert len(err.splitlines()) == 1


def test_an_unwritable_journal_is_one_line_and_exit_1(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("PLIVO_AUTH_ID", AUTH_ID)
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", TOKEN)
    assert main(["start", "x", "--base-url", "http://127.0.0.1:9",
                 "--journal", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == (f"recording-toolkit start: error: --journal: {str(tmp_path)!r} is a folder;"
                   f" give a file path in it, e.g. {str(tmp_path / 'journal.jsonl')!r}\n")


def test_operating_system_errors_are_one_line(tmp_path, monkeypatch, capsys):
    from recording_toolkit import cli

    def fails(args):
        raise IsADirectoryError(21, "Is a directory", str(tmp_path))

    monkeypatch.setattr(cli, "build_parser", lambda: _parser_running(fails))
    assert cli.main(["anything"]) == 1
    err = capsys.readouterr().err
    assert err == f"recording-toolkit anything: error: {tmp_path}: Is a directory\n"


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    from recording_toolkit import cli

    def fails(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "build_parser", lambda: _parser_running(fails))
    assert cli.main(["anything"]) == 141
    assert capsys.readouterr().err == ""


def _parser_running(func):
    import argparse

    parser = argparse.ArgumentParser(prog="recording-toolkit")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("anything").set_defaults(func=func)
    return parser


def _plivo_like_app():
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def record(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "gone":
            return JSONResponse({"api_id": "e-1", "error": "conference not found"}, status_code=404)
        if request.method == "DELETE":
            return Response(status_code=204)
        return JSONResponse({"api_id": "s-1", "message": "conference recording started",
                             "recording_id": f"rec-{name}", "url": "https://m/r.mp3"},
                            status_code=202)

    return Starlette(routes=[Route("/v1/Account/{aid}/Conference/{name}/Record/", record,
                                   methods=["POST", "DELETE"])])


def test_the_installed_command_end_to_end_against_a_local_server():
    with BackgroundServer(_plivo_like_app()) as server:
        env = {**os.environ, **ENV, "PLIVO_API_BASE_URL": server.url}

        def cli(*argv: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "recording_toolkit", *argv], env=env,
                                  capture_output=True, text=True, timeout=60)

        ok = cli("start", "weekly sync")
        gone = cli("stop", "gone")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["recording_id"] == "rec-weekly sync"
    assert gone.returncode == 1 and gone.stdout == ""
    assert gone.stderr == ("recording-toolkit stop: error: HTTP 404 for conference 'gone':"
                           " conference not found (api_id e-1)\n")
    assert_no_token(ok.stdout, ok.stderr, gone.stdout, gone.stderr)


def test_the_token_is_never_printed(capsys):
    fake = FakePlivo(answer(401, {"api_id": "a", "error": "authentication failed"}),
                     httpx.ReadTimeout("timed out"))  # neither is retried: no waiting
    for _ in range(2):
        with pytest.raises(Exception) as info:
            run_start(parse("start", "x"), environ=ENV, transport=fake.transport,
                      out=io.StringIO())
        assert_no_token(str(info.value))
    assert_no_token(capsys.readouterr())


def test_help_names_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["start", "--help"])
    text = capsys.readouterr().out
    for flag in ("--file-format", "--transcribe", "--transcription-url", "--callback-url",
                 "--callback-method", "--base-url", "--journal"):
        assert flag in text
