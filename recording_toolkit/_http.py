"""The one place the package imports its HTTP library.

httpx and its maintained fork httpx2 share an API; keeping the import here makes the choice one
line (see ``benchmarks/bench_client.py`` for the figures behind it).
"""

from __future__ import annotations

import httpx

__all__ = ["SEND_FAILURES", "httpx"]

#: What httpx raises when a request fails on its way or its answer cannot be read: the clients
#: and the media downloads turn each into a toolkit error.
SEND_FAILURES = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)
