"""``recording-toolkit doctor`` / ``rt.preflight``: each usual first-hour fault is reported with
its fix, and a correct set-up passes.

Everything runs against the sandbox and a local receiver, some behind a small reverse proxy
(``tests/reverse_proxy.py``) that rewrites the Host header, strips a path prefix or shifts the
API's Date header, the ways a real proxy or a wrong clock spoil a set-up.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from reverse_proxy import ReverseProxy

import recording_toolkit as rt
from recording_toolkit.callback_log import CallbackLog
from recording_toolkit.cli import main
from recording_toolkit.doctor import preflight, url_differences
from recording_toolkit.doctor._storage import check_log_folder, filesystem_of
from recording_toolkit.load import load_callbacks
from recording_toolkit.probes import TEST_CALLBACK_PREFIX, new_test_callback
from recording_toolkit.receiver import CallbackReceiver, create_receiver_app
from recording_toolkit.sandbox import Sandbox
from recording_toolkit.server import BackgroundServer
from recording_toolkit.signature import signed_headers

pytestmark = pytest.mark.timeout(120)

OTHER_AUTH_ID = "MA" + "OTHERACCOUNT000001"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.fixture
def env(sandbox: Sandbox) -> dict[str, str]:
    return {"PLIVO_AUTH_ID": sandbox.auth_id, "PLIVO_AUTH_TOKEN": sandbox.auth_token,
            "PLIVO_API_BASE_URL": sandbox.base_url}


@contextmanager
def receiver(folder: Path, token: str, *, public_url: str | None = None,
             trust_forwarded: bool = False, verify: bool = True
             ) -> Iterator[tuple[Any, BackgroundServer]]:
    """The receiver as ``receive`` runs it on a wildcard address: without ``public_url`` it
    rebuilds the URL from each request's Host header (or the forwarded headers)."""
    log = CallbackLog(folder)
    app = create_receiver_app(log, auth_tokens=token, public_url=public_url,
                              trust_forwarded=trust_forwarded, verify=verify)
    try:
        with BackgroundServer(app, name="receiver") as server:
            yield app, server
    finally:
        log.close()


def _set_public_url(app: Any, url: str) -> None:
    # known only once the proxy in front is bound, as CallbackReceiver does with its own URL
    app.state.settings.public_url = url


# -- a correct set-up ---------------------------------------------------------------------------

def test_a_correct_set_up_behind_a_proxy_passes_and_its_test_callback_is_left_out(
        sandbox: Sandbox, env: dict[str, str], tmp_path: Path) -> None:
    logs = tmp_path / "callbacks"
    with receiver(logs, sandbox.auth_token) as (app, server), \
            ReverseProxy(server.url, prefix="/rt") as proxy:
        _set_public_url(app, proxy.url)
        result = preflight(public_url=proxy.url, log_dir=logs, environ=env)
    assert result.ok and result.exit_code == 0, result
    assert [c.name for c in result] == ["credentials", "clock", "callback path", "log folder",
                                        "rate card", "journal"]
    assert result["credentials"].status == "ok"
    assert f"main account {sandbox.auth_id}" in result["credentials"].found
    assert result["clock"].status == "ok"
    assert result["callback path"].status == "ok"
    assert "verified and stored" in result["callback path"].found
    assert result["log folder"].status in ("ok", "warning")  # a CI disk may be nearly full
    assert result["journal"].status == "skipped"
    loaded = load_callbacks(logs)
    assert loaded.stats.lines == 1 and loaded.stats.test_callbacks == 1
    assert loaded.recordings.empty


def test_the_receiver_marks_only_test_callbacks_answers(sandbox: Sandbox, tmp_path: Path) -> None:
    with CallbackReceiver(tmp_path, auth_token=sandbox.auth_token) as running:
        url = running.recording_callback_url
        test = new_test_callback()
        real = {**new_test_callback(), "recording_id": "c0ffee00-0000-4000-8000-000000000001"}
        wrong_url = url.replace("/callbacks/", "/elsewhere/callbacks/")
        answers = {}
        for name, fields in (("test", test), ("real", real)):
            headers = signed_headers(sandbox.auth_token, "n1", "POST", wrong_url, fields)
            answers[name] = httpx.post(url, data=fields, headers=headers, timeout=10)
        stored = httpx.post(url, data=test, timeout=10, headers=signed_headers(
            sandbox.auth_token, "n2", "POST", url, test))
    assert answers["test"].status_code == answers["real"].status_code == 403
    assert answers["test"].json()["rebuilt_url"] == url
    assert "rebuilt_url" not in answers["real"].json()  # only a test callback is told
    assert stored.status_code == 200
    assert stored.json() | {"recording_id": "-"} == {
        "status": "stored", "event": "recording", "recording_id": "-", "test_callback": True,
        "verified": True, "rebuilt_url": url}


# -- credentials ---------------------------------------------------------------------------------

def test_a_wrong_token_is_reported_with_its_fix(env: dict[str, str], tmp_path: Path) -> None:
    result = preflight(log_dir=tmp_path, environ={**env, "PLIVO_AUTH_TOKEN": "x" * 40})
    check = result["credentials"]
    assert not result.ok and result.exit_code == 1
    assert check.status == "failed" and "401" in check.found
    assert "PLIVO_AUTH_TOKEN" in check.fix and "x" * 40 not in repr(result)
    assert result["clock"].status == "ok"  # the refusal still carries the API's Date


def test_a_token_of_the_wrong_length_is_named_as_the_likely_culprit(
        env: dict[str, str], tmp_path: Path) -> None:
    check = preflight(log_dir=tmp_path, environ={**env, "PLIVO_AUTH_TOKEN": "short"})[
        "credentials"]
    assert check.status == "failed" and "5 characters long" in check.found
    assert "token is the likely culprit" in check.found


def test_a_wrong_auth_id_is_reported_with_where_it_came_from(
        env: dict[str, str], tmp_path: Path) -> None:
    check = preflight(log_dir=tmp_path, environ={**env, "PLIVO_AUTH_ID": OTHER_AUTH_ID})[
        "credentials"]
    assert check.status == "failed" and OTHER_AUTH_ID in check.found
    assert "PLIVO_AUTH_ID" in check.fix
    malformed = preflight(log_dir=tmp_path, auth_id="ma123", environ=env)["credentials"]
    assert malformed.status == "failed" and "'ma123'" in malformed.found
    assert "not a Plivo auth id" in malformed.found and "'MA'" in malformed.fix


def test_a_sub_account_is_told_from_the_main_account(sandbox: Sandbox, env: dict[str, str],
                                                      tmp_path: Path) -> None:
    made = httpx.post(f"{sandbox.base_url}/v1/Account/{sandbox.auth_id}/Subaccount/",
                      data={"name": "team-a", "enabled": "true"},
                      auth=(sandbox.auth_id, sandbox.auth_token), timeout=10)
    assert made.status_code == 201, made.text
    sub = made.json()
    sub_env = {**env, "PLIVO_AUTH_ID": sub["auth_id"], "PLIVO_AUTH_TOKEN": sub["auth_token"]}
    check = preflight(log_dir=tmp_path, environ=sub_env)["credentials"]
    assert check.status == "ok"
    assert f"sub-account {sub['auth_id']} of main account {sandbox.auth_id}" in check.found
    # the main account's token does not open the sub-account, and the reverse
    crossed = preflight(log_dir=tmp_path, environ={**sub_env,
                                                   "PLIVO_AUTH_TOKEN": sandbox.auth_token})
    assert crossed["credentials"].status == "failed"
    assert "sub-account has its own token" in crossed["credentials"].fix


def test_an_unreachable_api_is_reported(env: dict[str, str], tmp_path: Path) -> None:
    result = preflight(log_dir=tmp_path, base_url="http://127.0.0.1:1", timeout=5, environ=env)
    assert result["credentials"].status == "failed"
    assert "did not answer" in result["credentials"].found
    assert "--base-url" in result["credentials"].fix or "PLIVO_API_BASE_URL" in \
        result["credentials"].fix
    assert result["clock"].status == "skipped"


# -- the clock -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("shift", "status"), [(-300, "failed"), (-20, "warning"), (20, "warning")])
def test_clock_skew_against_the_api_is_reported(sandbox: Sandbox, env: dict[str, str],
                                                tmp_path: Path, shift: int, status: str) -> None:
    with ReverseProxy(sandbox.base_url, date_shift=shift) as api:
        check = preflight(log_dir=tmp_path, base_url=api.url, environ=env)["clock"]
    assert check.status == status
    assert ("ahead of" if shift < 0 else "behind") in check.found
    # the Date header has whole seconds: the skew is known to about a second
    assert abs(check.details["skew_seconds"] + shift) <= 1.5
    assert "set-ntp" in check.fix


# -- the callback path ---------------------------------------------------------------------------

def test_an_unreachable_public_url_is_reported(env: dict[str, str], tmp_path: Path) -> None:
    check = preflight(public_url="http://127.0.0.1:1", log_dir=tmp_path, timeout=5,
                      environ=env)["callback path"]
    assert check.status == "failed" and "nothing answered at http://127.0.0.1:1" in check.found
    assert "recording-toolkit receive --public-url http://127.0.0.1:1" in check.fix


def test_a_proxy_rewriting_the_host_is_reported_with_the_flag_that_fixes_it(
        sandbox: Sandbox, env: dict[str, str], tmp_path: Path) -> None:
    with receiver(tmp_path / "a", sandbox.auth_token) as (_, server), \
            ReverseProxy(server.url) as proxy:
        check = preflight(public_url=proxy.url, log_dir=tmp_path, environ=env)["callback path"]
    assert check.status == "failed"
    assert f"verified against {server.url}/callbacks/recording" in check.found
    assert f"but {proxy.url}/callbacks/recording was signed" in check.found
    port = proxy.url.rsplit(":", 1)[1]
    assert f"port: signed {port}, the receiver saw {server.url.rsplit(':', 1)[1]}" in check.found
    assert f"--public-url {proxy.url}" in check.fix and "--trust-forwarded" in check.fix
    # either fix works: forwarded headers with --trust-forwarded, or the Host kept
    with receiver(tmp_path / "b", sandbox.auth_token, trust_forwarded=True) as (_, server), \
            ReverseProxy(server.url, forwarded="http") as proxy:
        fixed = preflight(public_url=proxy.url, log_dir=tmp_path, environ=env)
    assert fixed["callback path"].status == "ok", fixed


def test_a_stripped_path_prefix_is_reported_with_the_public_url_that_fixes_it(
        sandbox: Sandbox, env: dict[str, str], tmp_path: Path) -> None:
    with receiver(tmp_path / "a", sandbox.auth_token) as (app, server), \
            ReverseProxy(server.url, prefix="/rt", keep_host=True) as proxy:
        _set_public_url(app, proxy.url.removesuffix("/rt"))  # the prefix forgotten
        check = preflight(public_url=proxy.url, log_dir=tmp_path, environ=env)["callback path"]
        _set_public_url(app, proxy.url)
        fixed = preflight(public_url=proxy.url, log_dir=tmp_path, environ=env)
    assert check.status == "failed"
    assert "path prefix: signed '/rt', the receiver saw none" in check.found
    assert f"--public-url {proxy.url}" in check.fix and "--trust-forwarded" not in check.fix
    assert fixed["callback path"].status == "ok", fixed


def test_a_receiver_with_another_token_is_told_from_a_url_mismatch(
        sandbox: Sandbox, env: dict[str, str], tmp_path: Path) -> None:
    with CallbackReceiver(tmp_path, auth_token="another-token") as running:
        check = preflight(public_url=running.public_url, log_dir=tmp_path,
                          environ=env)["callback path"]
    assert check.status == "failed" and "for the very URL signed" in check.found
    assert "another token" in check.found and "another-token" not in check.found


def test_a_receiver_that_does_not_verify_is_a_warning(env: dict[str, str],
                                                     tmp_path: Path) -> None:
    with CallbackReceiver(tmp_path, verify=False) as running:
        check = preflight(public_url=running.public_url, log_dir=tmp_path,
                          environ=env)["callback path"]
    assert check.status == "warning" and "--no-verify" in check.found


def test_a_url_that_is_not_the_receiver_is_reported(sandbox: Sandbox, env: dict[str, str],
                                                    tmp_path: Path) -> None:
    check = preflight(public_url=sandbox.base_url, log_dir=tmp_path, environ=env)[
        "callback path"]
    assert check.status == "failed" and "404" in check.found


def test_url_differences_name_each_part() -> None:
    assert url_differences("https://h/x/callbacks/recording",
                           "https://h/x/callbacks/recording") == []
    assert url_differences("https://h:8443/callbacks/recording",
                           "https://h/callbacks/recording") == [
        "port: signed 8443, the receiver saw 443"]


# -- the log folder ------------------------------------------------------------------------------

def test_an_unwritable_log_folder_is_reported(env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    check = preflight(log_dir=blocker / "callbacks", environ=env)["log folder"]
    assert check.status == "failed" and "which is a file" in check.found
    file_itself = preflight(log_dir=blocker, environ=env)["log folder"]
    assert file_itself.status == "failed" and "is a file, not a folder" in file_itself.found
    if os.geteuid() != 0:  # root writes through permissions
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        check = preflight(log_dir=locked, environ=env)["log folder"]
        assert check.status == "failed" and "cannot write" in check.found


def test_little_free_space_and_an_in_memory_filesystem_warn(tmp_path: Path) -> None:
    check = check_log_folder(tmp_path, min_free_bytes=1 << 62)
    assert check.status == "warning" and "free (under" in check.found
    mountinfo = (f"22 1 0:21 / / rw - ext4 /dev/sda1 rw\n"
                 f"40 22 0:35 / {tmp_path} rw,nosuid - tmpfs tmpfs rw,size=65536k\n")
    assert filesystem_of(tmp_path / "x", mountinfo)[1] == "tmpfs"  # type: ignore[index]
    in_memory = check_log_folder(tmp_path / "logs", min_free_bytes=0, mountinfo=mountinfo)
    assert in_memory.status == "warning" and "a reboot loses it" in in_memory.found
    assert "put the log on a disk" in in_memory.fix


# -- settings ------------------------------------------------------------------------------------

def test_the_rate_card_and_journal_settings_are_checked(env: dict[str, str],
                                                        tmp_path: Path) -> None:
    rates = tmp_path / "rates.toml"
    rates.write_text("currency = 5\n")
    result = preflight(log_dir=tmp_path, rates=rates, journal=tmp_path, environ=env)
    assert result["rate card"].status == "failed" and "currency" in result["rate card"].found
    assert result["journal"].status == "failed"
    rates.write_text("currency = 'EUR'\n")
    good = preflight(log_dir=tmp_path, rates=rates, journal=tmp_path / "j.jsonl",
                     environ={**env, "RECORDING_TOOLKIT_RATE_FREE_STORAGE_DAYS": "30"})
    assert good["rate card"].status == "ok" and "EUR" in good["rate card"].found
    assert "30 free days" in good["rate card"].found
    assert good["journal"].status == "ok" and not (tmp_path / "j.jsonl").exists()


def test_options_that_are_not_well_formed_raise_naming_them(env: dict[str, str]) -> None:
    with pytest.raises(rt.ConfigurationError, match="public_url"):
        preflight(public_url="notaurl", environ=env)
    with pytest.raises(rt.ConfigurationError, match="timeout"):
        preflight(timeout=float("nan"), environ=env)


# -- what a user sees ----------------------------------------------------------------------------

def test_the_result_reads_well_in_a_notebook_and_as_text(env: dict[str, str],
                                                         tmp_path: Path) -> None:
    result = preflight(log_dir=tmp_path, environ={**env, "PLIVO_AUTH_TOKEN": "x" * 40})
    text = repr(result)
    assert text.splitlines()[0] == f"<PreflightResult: {result.summary()}>"
    assert len(text.splitlines()) == 1 + len(result)
    assert "failed  credentials" in text and "-> fix:" in text
    page = result._repr_html_()
    assert "Not ready" in page and page.count("<tr>") == 1 + len(result)
    assert "x" * 40 not in page


def test_the_cli_prints_a_line_per_check_and_exits_1_on_a_failure(
        sandbox: Sandbox, env: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["doctor", "--log-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 7 and out[0].startswith("ok      credentials")
    assert out[-1].startswith("ready: ")
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", "y" * 40)
    assert main(["doctor", "--log-dir", str(tmp_path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert [c["status"] for c in data["checks"] if c["name"] == "credentials"] == ["failed"]


def test_in_a_terminal_long_lines_wrap_under_what_was_found(
        sandbox: Sandbox, env: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A person at a 60-column terminal reads each check's text in its own column; a pipe
    still gets one line per check."""
    import io
    import shutil

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(shutil, "get_terminal_size", lambda *a, **k: os.terminal_size((60, 24)))
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", "y" * 40)
    from recording_toolkit.cli import build_parser
    from recording_toolkit.commands.doctor import run

    args = build_parser().parse_args(["doctor", "--log-dir", str(tmp_path)])
    terminal, pipe = Terminal(), io.StringIO()
    assert run(args, out=terminal) == 1
    assert run(args, out=pipe) == 1
    piped = pipe.getvalue().splitlines()
    shown = terminal.getvalue().splitlines()
    assert len(piped) == 7 and len(shown) > len(piped)
    assert all(len(line) <= 60 or " " not in line.strip() for line in shown)
    starts = ("ok ", "failed ", "warning ", "skipped ", "ready:", "not ready:")
    continued = [line for line in shown if not line.startswith(starts)]
    assert continued and all(line.startswith(" " * 24) and line[24] != " " for line in continued)
    # the same words in the same order, only the line breaks differ (figures such as the clock's
    # offset are measured again by each run)
    def words(lines: list[str]) -> str:
        return re.sub(r"\d+(\.\d+)?", "N", " ".join(" ".join(lines).split()))

    assert words(shown) == words(piped)


def test_the_loader_counts_test_callbacks_and_leaves_them_out(tmp_path: Path) -> None:
    log = tmp_path / "callbacks.jsonl"
    test = new_test_callback()
    lines = [
        {"event": "recording", "received_at": "2026-11-24T10:15:02Z",
         "payload": {"recording_id": "r1", "record_url": "https://h/r1.mp3",
                     "recording_duration_ms": "60000"}},
        {"event": "recording", "received_at": "2026-11-24T10:15:03Z", "payload": test},
        {"event": "transcription", "received_at": "2026-11-24T10:16:03Z",
         "payload": {"recording_id": test["recording_id"], "transcription": "hello"}},
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    loaded = load_callbacks(log)
    stats = loaded.stats
    assert loaded.recordings["recording_id"].tolist() == ["r1"]
    assert loaded.transcriptions.empty
    assert stats.test_callbacks == 2
    assert stats.lines == (stats.recordings + stats.transcriptions + stats.duplicates
                           + stats.quarantined + stats.test_callbacks)
    assert "Test callbacks" in stats._repr_html_()
    assert not any(str(r).startswith(TEST_CALLBACK_PREFIX)
                   for r in loaded.recordings["recording_id"])


def test_the_dask_engine_leaves_test_callbacks_out_as_pandas_does(tmp_path: Path) -> None:
    pytest.importorskip("dask.dataframe")
    real = {"event": "recording", "received_at": "2026-11-24T10:15:02Z",
            "payload": {"recording_id": "r1", "record_url": "https://h/r1.mp3"}}
    test = {"event": "recording", "received_at": "2026-11-24T10:15:03Z",
            "payload": new_test_callback()}
    (tmp_path / "a.jsonl").write_text(json.dumps(real) + "\n" + json.dumps(test) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps(real) + "\n")
    plain = load_callbacks(tmp_path)
    lazy = load_callbacks(tmp_path, engine="dask")
    assert lazy.stats == plain.stats and plain.stats.test_callbacks == 1
    assert lazy.recordings.compute()["recording_id"].tolist() == ["r1"]
