"""The background uvicorn server (server.py)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from recording_toolkit.server import BackgroundServer


def _app():
    return Starlette(routes=[Route("/", lambda request: PlainTextResponse("hello"))])


def test_serves_on_loopback_free_port_and_stops():
    server = BackgroundServer(_app(), name="probe")
    with server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.port and server.port > 0
        assert httpx.get(server.url + "/").text == "hello"
        url = server.url
    assert not server.running
    try:
        httpx.get(url + "/", timeout=1)
    except httpx.ConnectError:
        pass
    else:  # pragma: no cover - the port must be closed after stop()
        raise AssertionError("server still answering after stop()")


def test_two_servers_get_different_ports():
    with BackgroundServer(_app()) as a, BackgroundServer(_app()) as b:
        assert a.port != b.port


def test_a_port_out_of_range_is_a_clear_error():
    import pytest

    from recording_toolkit.errors import ConfigurationError
    from recording_toolkit.server import bind_socket

    for port in (65536, -1, 99999):
        with pytest.raises(ConfigurationError, match=f"port: {port} is not a port number"):
            bind_socket("127.0.0.1", port)


def test_the_commands_refuse_a_port_out_of_range(capsys):
    import pytest

    from recording_toolkit.cli import main

    for command in ("receive", "sandbox"):
        with pytest.raises(SystemExit) as info:
            main([command, "--port", "99999"])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "argument --port: 99999 is not a port number (0 to 65535" in err
        assert "Traceback" not in err
