"""The exception tree (errors.py)."""

from __future__ import annotations

import pytest

from recording_toolkit import errors


@pytest.mark.parametrize(("status", "cls"), [
    (400, errors.BadRequestError), (401, errors.AuthenticationError),
    (403, errors.ForbiddenError), (404, errors.NotFoundError),
    (405, errors.InvalidRequestError), (409, errors.InvalidRequestError),
    (422, errors.InvalidRequestError), (429, errors.RateLimitError),
    (500, errors.ServerError), (502, errors.ServerError), (503, errors.ServerError),
    (418, errors.PlivoAPIError),
])
def test_status_maps_to_class(status, cls):
    assert errors.api_error_for_status(status) is cls
    assert issubclass(cls, errors.PlivoAPIError)


def test_api_error_text_reads_well():
    exc = errors.NotFoundError("conference not found", status_code=404, api_id="abc-1",
                               conference_name="weekly sync")
    assert str(exc) == "HTTP 404 for conference 'weekly sync': conference not found (api_id abc-1)"
    assert (exc.status_code, exc.api_id, exc.error) == (404, "abc-1", "conference not found")


def test_error_list_is_joined_and_may_have_started_is_said():
    exc = errors.ServerError(["a", "b"], status_code=502, may_have_started=True)
    assert exc.error == "a; b"
    assert "may have started" in str(exc)


def test_every_error_is_a_toolkit_error():
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, errors.RecordingToolkitError), name


def test_value_errors_for_bad_input():
    assert issubclass(errors.ValidationError, ValueError)
    exc = errors.LoadError("bad JSON", file="log.jsonl", line=7, raw="{oops" + "x" * 300)
    assert str(exc).startswith("log.jsonl:7: bad JSON")
    assert len(str(exc)) < 300


def test_the_timeout_error_no_longer_hides_the_builtin():
    """``from recording_toolkit.errors import *`` leaves Python's ``TimeoutError`` alone."""
    namespace: dict[str, object] = {}
    exec("from recording_toolkit.errors import *", namespace)  # noqa: S102
    assert "TimeoutError" not in namespace and "RequestTimeoutError" in namespace
    assert issubclass(errors.RequestTimeoutError, errors.TransportError)


def test_the_former_timeout_name_still_works_and_warns():
    import recording_toolkit as rt

    with pytest.warns(DeprecationWarning, match="use RequestTimeoutError"):
        old = errors.TimeoutError
    assert old is errors.RequestTimeoutError
    with pytest.warns(DeprecationWarning, match="use RequestTimeoutError"):
        from recording_toolkit.errors import TimeoutError as imported
    assert imported is errors.RequestTimeoutError
    with pytest.warns(DeprecationWarning, match="recording_toolkit.TimeoutError"):
        assert rt.TimeoutError is errors.RequestTimeoutError
    # a caller that still catches the old name catches what the client raises now
    with pytest.warns(DeprecationWarning), pytest.raises(errors.TimeoutError):
        raise errors.RequestTimeoutError("no answer", may_have_started=True)
    with pytest.raises(AttributeError, match="no_such_error"):
        errors.no_such_error  # noqa: B018
