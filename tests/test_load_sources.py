"""Sources that are not plain local files: URLs over HTTP, missing backends, missing paths.

Each failure is one error naming the source (and, for a backend that is not installed, the
package to install); the CLI prints it as one line and exits 1.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import importlib.util
import socket
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from loadlogs import DATA, recording, write_log

from recording_toolkit.cli import main
from recording_toolkit.errors import LoadError, SourceNotFoundError
from recording_toolkit.load import load_callbacks

SAMPLE = DATA / "callbacks" / "callbacks-2026-11-02-rx-a.jsonl"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # no request lines in the test output
        pass


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[str, Path]]:
    """A folder served over HTTP on a free loopback port: (base URL, folder)."""
    folder = tmp_path / "www"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.strip() and "loading callbacks" not in x]
    assert len(lines) == 1, err
    return lines[0]


# -- HTTP ---------------------------------------------------------------------------------------

def test_a_log_over_http_gives_the_same_frames_as_the_file(served):
    base, folder = served
    (folder / "a.jsonl").write_bytes(SAMPLE.read_bytes())
    (folder / "b.jsonl.gz").write_bytes(gzip.compress(SAMPLE.read_bytes()))
    local = load_callbacks(SAMPLE)
    for name in ("a.jsonl", "b.jsonl.gz"):
        remote = load_callbacks(f"{base}/{name}")
        assert remote.stats.files == 1
        assert remote.stats.lines == local.stats.lines
        assert remote.recordings["recording_id"].tolist() == \
            local.recordings["recording_id"].tolist()
        assert remote.transcriptions["recording_id"].tolist() == \
            local.transcriptions["recording_id"].tolist()


def test_a_torn_gzip_over_http_keeps_the_lines_before_the_cut(served):
    base, folder = served
    packed = gzip.compress(SAMPLE.read_bytes())[:3000]
    (folder / "t.jsonl.gz").write_bytes(packed)
    complete = zlib.decompressobj(wbits=31).decompress(packed).count(b"\n")  # as zcat
    result = load_callbacks(f"{base}/t.jsonl.gz")
    assert result.stats.quarantined == 1
    assert len(result.recordings) + len(result.transcriptions) == complete > 20
    assert result.stats.lines == complete + 1
    assert "truncated" in result.quarantine["reason"].item()
    assert result.quarantine["file"].item() == f"{base}/t.jsonl.gz"


def test_the_report_reads_a_url(served, capsys):
    base, folder = served
    (folder / "a.jsonl").write_bytes(SAMPLE.read_bytes())
    assert main(["report", f"{base}/a.jsonl", "--json"]) == 0
    assert '"files": 1' in capsys.readouterr().out


def test_a_missing_url_is_named(served):
    base, _ = served
    with pytest.raises(SourceNotFoundError, match="missing.jsonl': no such file"):
        load_callbacks(f"{base}/missing.jsonl")


def test_a_refused_connection_is_one_load_error_naming_the_url(capsys):
    url = f"http://127.0.0.1:{closed_port()}/x.jsonl"
    with pytest.raises(LoadError) as caught:
        load_callbacks(url)
    assert caught.value.file == url
    assert "cannot be reached" in caught.value.reason
    assert main(["report", url]) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"recording-toolkit report: error: {url}: cannot be reached")


# -- backends that are not installed ------------------------------------------------------------

@pytest.mark.parametrize(("url", "package"), [("s3://bucket/logs/x.jsonl", "s3fs"),
                                              ("gs://bucket/x.jsonl", "gcsfs")])
def test_a_missing_backend_names_the_package_to_install(url, package, capsys):
    if importlib.util.find_spec(package) is not None:
        pytest.skip(f"{package} is installed here")
    protocol = url.partition("://")[0]
    with pytest.raises(LoadError) as caught:
        load_callbacks(url)
    assert str(caught.value) == (f"{url}: reading {protocol}:// needs the {package} package:"
                                 f" pip install {package}")
    assert main(["report", url]) == 1
    assert one_error_line(capsys) == f"recording-toolkit report: error: {caught.value}"


def test_an_unknown_protocol_is_one_error(capsys):
    with pytest.raises(LoadError, match="cannot read nosuch:// URLs"):
        load_callbacks("nosuch://bucket/x.jsonl")


# -- local paths that are not there -------------------------------------------------------------

def test_a_dangling_symlink_in_a_folder_is_a_load_error_naming_it(tmp_path, capsys):
    write_log(tmp_path / "logs" / "a.jsonl", recording("r1"))
    link = tmp_path / "logs" / "gone.jsonl"
    link.symlink_to(tmp_path / "nowhere.jsonl")
    with pytest.raises(SourceNotFoundError) as caught:
        load_callbacks(tmp_path / "logs")
    assert caught.value.file == str(link)
    assert "symbolic link to a file that does not exist" in str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)  # callers that caught that still do
    assert main(["report", str(tmp_path / "logs")]) == 1
    assert str(link) in one_error_line(capsys)


def test_a_missing_file_in_a_list_is_a_load_error_naming_it(tmp_path, capsys):
    good = write_log(tmp_path / "a.jsonl", recording("r1"))
    missing = tmp_path / "b.jsonl"
    with pytest.raises(SourceNotFoundError) as caught:
        load_callbacks([good, missing])
    assert caught.value.file == str(missing)
    assert str(caught.value) == f"source {str(missing)!r}: no such file or folder"
    assert main(["report", str(good), str(missing)]) == 1
    assert one_error_line(capsys).endswith(f"{str(missing)!r}: no such file or folder")


def test_a_file_removed_while_loading_is_a_load_error_naming_it(tmp_path, monkeypatch):
    from recording_toolkit.load import _load

    log = write_log(tmp_path / "a.jsonl", recording("r1"))
    real = _load.read_file

    def vanish(source, **options):
        log.unlink()
        return real(source, **options)

    monkeypatch.setattr(_load, "read_file", vanish)
    with pytest.raises(SourceNotFoundError, match="a.jsonl': no such file"):
        load_callbacks(log)
