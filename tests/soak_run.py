"""One short soak per test session, shared by the modules that check its outcome.

``tests/test_soak.py`` checks its verdict and figures; ``tests/test_security.py`` greps
everything it wrote for the token. Running it once keeps ``make test`` quick.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from soak import SoakReport, SoakSettings, run_soak

#: Made up for the soak; the security test searches every output for it.
SOAK_TOKEN = "soak-token-" + "Q7w" * 10


@functools.cache
def short_soak() -> SoakReport:
    """300 recordings, one receiver kill, sandbox time 3600x: about 20-40 s on 2 cores."""
    workdir = Path(tempfile.mkdtemp(prefix="recording-toolkit-test-soak-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    return run_soak(SoakSettings(count=300, kills=1, seed=3, duration=150.0, time_scale=3600.0,
                                 workdir=workdir, auth_token=SOAK_TOKEN))
