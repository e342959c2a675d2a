"""Test callbacks: signed callbacks that ``recording-toolkit doctor`` sends through the real path
(tunnel, proxy, receiver, log) to prove it works, marked so that nothing counts them as calls.

The mark is the recording id: a test callback's ``recording_id`` starts with
:data:`TEST_CALLBACK_PREFIX`. Plivo's recording ids are UUIDs, so no real callback carries it,
and the mark survives every format the loader reads (JSON Lines, CSV, Parquet, the cache)
without a column of its own. The receiver verifies and stores a test callback like any other
(so the check covers the log too) and, for test callbacks only, says in its answer which URL it
verified the signature against; the loader leaves them out of the frames and counts them in
``LoadStats.test_callbacks``, so the analytics never see them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

__all__ = ["TEST_CALLBACK_PREFIX", "is_test_callback", "is_test_recording_id",
           "new_test_callback"]

#: The start of every test callback's ``recording_id``.
TEST_CALLBACK_PREFIX = "toolkit-test-"
#: The conference name test callbacks carry.
TEST_CONFERENCE = "toolkit-test"


def is_test_recording_id(recording_id: object) -> bool:
    """True when ``recording_id`` marks a test callback.

    >>> is_test_recording_id("toolkit-test-3f2a"), is_test_recording_id("c0ffee00-1234")
    (True, False)
    """
    return isinstance(recording_id, str) and recording_id.startswith(TEST_CALLBACK_PREFIX)


def is_test_callback(fields: Iterable[tuple[str, Any]]) -> bool:
    """True when a request's fields (as parsed, any spelling of ``recording_id``) carry the mark.

    >>> is_test_callback([("RecordingID", "toolkit-test-1")])
    True
    """
    for name, value in fields:
        if name.replace("_", "").lower() == "recordingid" and is_test_recording_id(value):
            return True
    return False


def new_test_callback() -> dict[str, str]:
    """The fields of a new test recording callback (a fresh id each time, so a second run is
    stored too, not answered as a duplicate)."""
    recording_id = TEST_CALLBACK_PREFIX + secrets.token_hex(8)
    return {
        "recording_id": recording_id,
        "api_id": recording_id,
        "conference_name": TEST_CONFERENCE,
        "record_url": f"https://example.invalid/{recording_id}.mp3",
        "recording_duration": "0",
        "recording_duration_ms": "0",
        "recording_start_ms": "0",
        "recording_end_ms": "0",
    }
