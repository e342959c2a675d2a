"""The retry policy (_retry.py): what is retried, how long to wait, Retry-After."""

from __future__ import annotations

import pytest

from recording_toolkit._retry import (
    NOT_SENT,
    SENT,
    RetryPolicy,
    may_have_been_processed,
    parse_retry_after,
)
from recording_toolkit.errors import ConfigurationError

# (action, failure, retry_after, retried by default, retried with retry_unsafe)
TABLE = [
    ("start", 429, None, True, True),
    ("start", 429, 2.0, True, True),
    ("start", NOT_SENT, None, True, True),
    ("start", 503, 2.0, True, True),
    ("start", 503, None, False, True),
    ("start", 500, None, False, True),
    ("start", 502, None, False, True),
    ("start", 504, None, False, True),
    ("start", 500, 2.0, False, True),
    ("start", SENT, None, False, True),
    ("start", 400, None, False, False),
    ("start", 404, None, False, False),
    ("start", 409, None, False, False),
    ("start", 422, None, False, False),
    ("stop", 500, None, True, True),
    ("stop", 502, None, True, True),
    ("stop", 503, None, True, True),
    ("stop", 504, None, True, True),
    ("stop", SENT, None, True, True),
    ("stop", NOT_SENT, None, True, True),
    ("stop", 429, None, True, True),
    ("stop", 404, None, False, False),
    ("list", 502, None, True, True),
    ("get", SENT, None, True, True),
    ("get", 401, None, False, False),
]


@pytest.mark.parametrize(("action", "failure", "retry_after", "default", "unsafe"), TABLE)
def test_what_is_retried(action, failure, retry_after, default, unsafe):
    kind = {"transport": failure} if isinstance(failure, str) else {"status": failure}
    for policy, expected in ((RetryPolicy(), default), (RetryPolicy(retry_unsafe=True), unsafe)):
        assert policy.retryable(action, retry_after=retry_after, **kind) is expected
        delay = policy.delay(action, 1, retry_after=retry_after, **kind)
        assert (delay is not None) is expected


def test_full_jitter_backoff_grows_and_is_capped():
    high = RetryPolicy(max_retries=10, random=lambda: 1.0, backoff_base=0.5, backoff_cap=3.0)
    assert [high.delay("stop", n, status=500) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    low = RetryPolicy(max_retries=10, random=lambda: 0.0)
    assert low.delay("stop", 4, status=500) == 0.0
    half = RetryPolicy(max_retries=10, random=lambda: 0.5)
    assert half.delay("stop", 3, status=500) == 1.0
    assert RetryPolicy(max_retries=2000, random=lambda: 1.0).backoff(2000) == 8.0  # no overflow


def test_real_jitter_stays_inside_its_ceiling():
    policy = RetryPolicy(max_retries=10)
    delays = [policy.delay("stop", 3, status=502) for _ in range(200)]
    assert all(0.0 <= d <= 2.0 for d in delays)
    assert len(set(delays)) > 100  # actually random


def test_retry_after_is_waited_exactly_up_to_the_maximum():
    policy = RetryPolicy(random=lambda: 1.0, max_retry_after=30)
    assert policy.delay("start", 1, status=429, retry_after=12.5) == 12.5
    assert policy.delay("start", 1, status=429, retry_after=0.0) == 0.0
    assert policy.delay("start", 1, status=429, retry_after=30.0) == 30.0
    assert policy.delay("start", 1, status=429, retry_after=31.0) is None


def test_max_retries_counts_attempts():
    policy = RetryPolicy(max_retries=2)
    assert policy.delay("stop", 1, status=500) is not None
    assert policy.delay("stop", 2, status=500) is not None
    assert policy.delay("stop", 3, status=500) is None
    assert RetryPolicy(max_retries=0).delay("start", 1, status=429) is None


@pytest.mark.parametrize(("value", "now", "expected"), [
    ("3", None, 3.0), (" 1.5 ", None, 1.5), ("-4", None, 0.0), ("0", None, 0.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0, 10.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490.0, 0.0),   # in the past
    ("Wednesday, 21-Oct-15 07:28:00 GMT", 1445412478.0, 2.0),  # RFC 850 form
    (None, None, None), ("", None, None), ("soon", None, None), ("nan", None, None),
    ("inf", None, None), ("Wed, 21 Oct 2015 07:28:00", 0.0, None),  # no zone
])
def test_parse_retry_after(value, now, expected):
    assert parse_retry_after(value, now=now) == expected


def test_may_have_been_processed():
    assert [may_have_been_processed(s, None) for s in (400, 429, 500, 502, 503, 504)] == [
        False, False, True, True, True, True]
    assert may_have_been_processed(503, 1.0) is False
    assert may_have_been_processed(500, 1.0) is True


@pytest.mark.parametrize("kwargs", [{"max_retries": -1}, {"max_retries": 1.5},
                                    {"max_retries": True}, {"backoff_base": -1},
                                    {"backoff_cap": float("inf")}, {"max_retry_after": "9"}])
def test_bad_settings_are_configuration_errors(kwargs):
    with pytest.raises(ConfigurationError):
        RetryPolicy(**kwargs)
