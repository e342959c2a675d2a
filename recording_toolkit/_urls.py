"""The Plivo API paths the clients ask, and URLs as messages show them.

Kept apart from validation and from the clients because both need them: a conference name's
length limit is counted on its percent-encoded path segment, and the media downloads mask the
same passwords in URLs as the request journal does.

Examples
--------
>>> conference_path("MA" + "0" * 18, "My Conf Room")
'/v1/Account/MA000000000000000000/Conference/My%20Conf%20Room/Record/'
>>> mask_url("https://user:secret@example.com/cb")
'https://user:***@example.com/cb'
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

__all__ = ["conference_path", "mask_url", "path_segment", "recording_path", "transcription_path"]


def mask_url(url: str) -> str:
    """``url`` with any password in it masked, for messages and the journal."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
    except ValueError:
        return url


def path_segment(text: str) -> str:
    """``text`` percent-encoded as one URL path segment (``/``, ``?``, ``#``, ``%`` included).

    The official SDK sends a name with ``/``, ``?`` or ``#`` to the wrong URL; this does not.

    >>> path_segment("a/b?c#d"), path_segment("..")
    ('a%2Fb%3Fc%23d', '%2E%2E')
    """
    if text in (".", ".."):  # dot segments would be collapsed out of the path
        return text.replace(".", "%2E")
    return quote(text, safe="")


def conference_path(auth_id: str, conference_name: str) -> str:
    """The Record API path for a conference (relative to the base URL, trailing slash)."""
    return f"/v1/Account/{auth_id}/Conference/{path_segment(conference_name)}/Record/"


def recording_path(auth_id: str, recording_id: str | None = None) -> str:
    """The Recording API path: the list, or one recording when ``recording_id`` is given."""
    base = f"/v1/Account/{auth_id}/Recording/"
    return base if recording_id is None else f"{base}{path_segment(recording_id)}/"


def transcription_path(auth_id: str, recording_id: str) -> str:
    """The Transcription API path of a recording's transcription, addressed by the recording's
    id (docs/plivo.md, "Transcriptions")."""
    return f"/v1/Account/{auth_id}/Transcription/{path_segment(recording_id)}/"
