"""The CLI dispatcher (cli.py)."""

from __future__ import annotations

import pytest

from recording_toolkit import __version__
from recording_toolkit.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: recording-toolkit" in capsys.readouterr().err
