"""Transcript search and keyword counts (``recording_toolkit.analytics.search``), worked by hand.

Four recordings in two conferences on two days (3 November has none), and five transcriptions:

=====  ==========  ================  =========================================================
id     conference  start (UTC)       transcription
=====  ==========  ================  =========================================================
r1     eng         2026-11-04 09:00  "Speaker 0: The deploy is done.\\nSpeaker 1: Deploy again?"
r2     eng         2026-11-02 10:00  "Speaker 0: Budget first, then the DEPLOY plan."
r3     hr          2026-11-02 09:00  <NA> (no text)
r4     hr          2026-11-04 11:00  "" with an error: failed ("deploy" in it would not count)
rX     --          --                "Speaker 0: deploy deploy." (no recording callback)
=====  ==========  ================  =========================================================
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pytest

from recording_toolkit import analytics, schema
from recording_toolkit.analytics import keyword_counts, search_selection, search_transcripts

R1 = "Speaker 0: The deploy is done.\nSpeaker 1: Deploy again?"
R2 = "Speaker 0: Budget first, then the DEPLOY plan."


@pytest.fixture
def recordings() -> pd.DataFrame:
    return schema.coerce(pd.DataFrame({
        "recording_id": ["r1", "r2", "r3", "r4"],
        "conference_name": ["eng", "eng", "hr", "hr"],
        "recording_start": pd.to_datetime(["2026-11-04 09:00", "2026-11-02 10:00",
                                           "2026-11-02 09:00", "2026-11-04 11:00"], utc=True),
    }), schema.RECORDINGS)


@pytest.fixture
def transcriptions() -> pd.DataFrame:
    return schema.coerce(pd.DataFrame({
        "recording_id": ["r1", "r2", "r3", "r4", "rX"],
        "transcription": [R1, R2, None, "deploy", "Speaker 0: deploy deploy."],
        "error": [None, None, None, "Recording duration too short for transcription", None],
    }), schema.TRANSCRIPTIONS)


def test_case_insensitive_by_default_counts_every_match(transcriptions):
    hits = search_transcripts(transcriptions, "deploy")
    # in the transcriptions' order; r4 failed, r3 has no text
    assert hits[["recording_id", "count"]].values.tolist() == [["r1", 2], ["r2", 1],
                                                               ["rX", 2]]
    assert hits.attrs == {"query": "deploy", "searched": 3, "failed": 1, "without_text": 1}


def test_case_sensitive_finds_only_the_exact_case(transcriptions):
    hits = search_transcripts(transcriptions, "Deploy", case_sensitive=True)
    assert hits[["recording_id", "count"]].values.tolist() == [["r1", 1]]
    # "Deploy" starts at character 42: the 40 before it are shown after an ellipsis (the
    # line break as a space), and the 8 after it in full
    assert hits["snippet"].tolist() == ["…eaker 0: The deploy is done. Speaker 1: Deploy again?"]
    start, end = hits.loc[0, ["match_start", "match_end"]]
    assert (start, end) == (41, 47)  # the first *matching* occurrence: the second line's


def test_regex_with_a_group_and_word_boundaries(transcriptions):
    hits = search_transcripts(transcriptions, r"\b(budget|plan)\b", regex=True)
    assert hits[["recording_id", "count"]].values.tolist() == [["r2", 2]]
    snippet, start, end = hits.loc[0, ["snippet", "match_start", "match_end"]]
    assert snippet[start:end] == "Budget"


def test_a_literal_query_is_not_read_as_a_pattern(transcriptions):
    assert search_transcripts(transcriptions, "done.").loc[0, "recording_id"] == "r1"
    assert search_transcripts(transcriptions, "d.ne").empty
    assert search_transcripts(transcriptions, "d.ne", regex=True)["count"].tolist() == [1]


def test_no_match_is_an_empty_frame_with_the_columns(transcriptions, recordings):
    hits = search_transcripts(transcriptions, "invoice", recordings=recordings)
    assert hits.empty
    assert list(hits.columns) == ["recording_id", "conference_name", "recording_start", "count",
                                  "snippet", "match_start", "match_end"]
    assert hits.attrs["searched"] == 3


def test_na_text_and_failed_transcriptions_never_match_and_are_counted(transcriptions):
    failed_text = transcriptions.assign(transcription=["x", "x", None, "deploy now", "x"])
    hits = search_transcripts(failed_text, "deploy")
    assert hits.empty  # r4 says "deploy", but failed
    assert (hits.attrs["failed"], hits.attrs["without_text"], hits.attrs["searched"]) == (1, 1, 3)
    # without an error column every transcription with text is searched
    plain = failed_text.drop(columns="error")
    assert search_transcripts(plain, "deploy")["recording_id"].tolist() == ["r4"]


def test_with_recordings_hits_are_ordered_by_start_unknown_recordings_last(transcriptions,
                                                                          recordings):
    hits = search_transcripts(transcriptions, "deploy", recordings=recordings)
    assert hits["recording_id"].tolist() == ["r2", "r1", "rX"]
    assert hits["conference_name"].tolist()[:2] == ["eng", "eng"]
    assert pd.isna(hits.loc[2, "conference_name"]) and pd.isna(hits.loc[2, "recording_start"])
    assert hits.loc[0, "recording_start"] == pd.Timestamp("2026-11-02 10:00", tz="UTC")


def test_a_repeated_recording_id_takes_its_first_row(transcriptions, recordings):
    twice = pd.concat([recordings.iloc[[1]].assign(conference_name="first"),
                       recordings.iloc[[1]].assign(conference_name="second")])
    hits = search_transcripts(transcriptions, "budget", recordings=twice)
    assert hits[["recording_id", "conference_name"]].values.tolist() == [["r2", "first"]]


def test_snippet_cuts_at_context_with_ellipses_and_marks_the_first_match():
    text = "a" * 50 + " cat " + "b" * 50 + " cat"
    tr = pd.DataFrame({"recording_id": ["r"], "transcription": [text]})
    hits = search_transcripts(tr, "cat", context=10)
    snippet, start, end = hits.loc[0, ["snippet", "match_start", "match_end"]]
    assert snippet == "…aaaaaaaaa cat bbbbbbbbb…"
    assert (start, end, hits.loc[0, "count"]) == (11, 14, 2)
    # near the start and the end nothing is cut, so no ellipsis
    short = search_transcripts(pd.DataFrame({"recording_id": ["r"],
                                             "transcription": ["the cat sat"]}), "sat",
                               context=40)
    assert short.loc[0, "snippet"] == "the cat sat"


def test_snippet_context_counts_characters_outside_ascii_too():
    text = "é" * 50 + "Cat" + "日本" * 3 + "\U0001F600" * 20
    tr = pd.DataFrame({"recording_id": ["r"], "transcription": [text]})
    hits = search_transcripts(tr, "cat", context=10)
    snippet, start, end = hits.loc[0, ["snippet", "match_start", "match_end"]]
    # 10 characters either side, whatever their size in bytes; never half a character
    assert snippet == "…" + "é" * 10 + "Cat" + "日本" * 3 + "\U0001F600" * 4 + "…"
    assert (start, end) == (11, 14) and snippet[start:end] == "Cat"


def test_matches_do_not_overlap():
    tr = pd.DataFrame({"recording_id": ["r"], "transcription": ["aaaa"]})
    assert search_transcripts(tr, "aa")["count"].tolist() == [2]


@pytest.mark.parametrize(("query", "says"), [
    ("(", "'(' is not a regular expression"),
    ("a*", "'a*' matches empty text"),
    ("(?<=x)a", "'(?<=x)a' is not a regular expression"),
    ("", "an empty query"),
])
def test_a_bad_query_is_one_error_naming_it(transcriptions, query, says):
    with pytest.raises(ValueError, match="query") as caught:
        search_transcripts(transcriptions, query, regex=True)
    assert says in str(caught.value)
    assert "(?si)" not in str(caught.value)  # the flags added inside are not the user's


def test_bad_context_is_refused(transcriptions):
    with pytest.raises(ValueError, match="context"):
        search_transcripts(transcriptions, "deploy", context=-1)


def test_accessor_and_selection(transcriptions, recordings):
    assert transcriptions.rec.search_transcripts("deploy")["recording_id"].tolist() == \
        ["r1", "r2", "rX"]
    assert not hasattr(recordings.rec, "search_transcripts")  # no text in recordings
    chosen = search_selection(recordings, transcriptions, "deploy", since="2026-11-03")
    assert chosen["recording_id"].tolist() == ["r1"]  # rX has no recording to place it
    everything = recordings.rec.search_selection(transcriptions, "deploy")
    assert everything["recording_id"].tolist() == ["r2", "r1", "rX"]
    assert "search_transcripts" in analytics.__all__ and "keyword_counts" in analytics.__all__


def test_keyword_counts_by_conference(transcriptions, recordings):
    table = keyword_counts(transcriptions, ["deploy", "budget", "plan"], recordings=recordings)
    # eng: deploy 2 (r1) + 1 (r2), budget 1, plan 1; hr: nothing searched (NA, failed) -> 0;
    # rX (no recording callback) in the last row, with no conference
    assert table.index.tolist()[:2] == ["eng", "hr"] and pd.isna(table.index[2])
    assert table.values.tolist() == [[3, 1, 1], [0, 0, 0], [2, 0, 0]]
    assert list(table.columns) == ["deploy", "budget", "plan"]
    assert table.attrs["unplaced"] == 1 and table.attrs["failed"] == 1


def test_keyword_counts_by_day_fill_days_without_talk(transcriptions, recordings):
    table = keyword_counts(transcriptions.iloc[:4], ["Deploy"], recordings=recordings,
                           by="day", case_sensitive=True)
    # 2 Nov: r2 says DEPLOY (other case) -> 0; 3 Nov: nothing; 4 Nov: r1's "Deploy" -> 1
    assert [d.strftime("%m-%d") for d in table.index] == ["11-02", "11-03", "11-04"]
    assert table["Deploy"].tolist() == [0, 0, 1]
    assert table.attrs["unplaced"] == 0


def test_keyword_counts_refuses_bad_terms_and_options(transcriptions, recordings):
    with pytest.raises(ValueError, match="term '\\(' is not a regular expression"):
        keyword_counts(transcriptions, ["ok", "("], recordings=recordings, regex=True)
    with pytest.raises(ValueError, match="by"):
        keyword_counts(transcriptions, "x", recordings=recordings, by="week")  # type: ignore
    with pytest.raises(ValueError, match="recordings"):
        keyword_counts(transcriptions, "x")
    with pytest.raises(ValueError, match="terms"):
        keyword_counts(transcriptions, [], recordings=recordings)


def test_dask_frames_give_the_same_hits(transcriptions, recordings):
    dd = pytest.importorskip("dask.dataframe")
    lazy = dd.from_pandas(transcriptions, npartitions=2)
    hits = search_transcripts(lazy, "deploy", recordings=dd.from_pandas(recordings,
                                                                        npartitions=2))
    assert hits["recording_id"].tolist() == ["r2", "r1", "rX"]
    table = keyword_counts(lazy, "deploy", recordings=recordings)
    assert table["deploy"].tolist() == [3, 0, 2]


# The snippets are cut from the Arrow buffers in bulk; this is the same search written plainly,
# one transcription at a time with Python's ``re`` (which folds case as RE2 does for these
# texts, the Kelvin sign and the long s included).
TRICKY = [
    "budget at the very start, then nothing",  # the match opens the text
    "nothing until the very end: the Budget",  # ... or closes it
    "é" * 45 + "Budget" + "日本" * 30,  # two- and three-byte characters either side of the cut
    "\U0001F600" * 39 + "x budget y" + "\U0001F600" * 41,  # four-byte characters at the cut
    "Straße, ÉTÉ et été; été? " + "ü" * 50,  # non-ASCII letters in other cases
    "the \u212aiosk and the kiosk; \u017ftatus and STATUS",  # Kelvin sign, long s
    "line one budget\nline two\tBUDGET\r\nend",  # line breaks and tabs become spaces
    "a refund, refunds, an outage. Refunds!",
    "the bud",  # with the next one: a word split across two transcriptions is not a match
    "get ready",
    "short budget",
]


def _reference(text: str, query: str, regex: bool, case_sensitive: bool,
               context: int) -> tuple[int, str, int, int] | None:
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    matches = list(re.finditer(query if regex else re.escape(query), text, flags))
    if not matches:
        return None
    first = matches[0]
    lo, hi = max(0, first.start() - context), min(len(text), first.end() + context)
    lead = "…" if lo else ""
    snippet = lead + text[lo:hi].translate({10: 32, 13: 32, 9: 32}) + \
        ("…" if hi < len(text) else "")
    start = len(lead) + first.start() - lo
    return len(matches), snippet, start, start + len(first.group())


def _chunked(texts: list[str | None], shared: bool) -> pd.Series:
    """The texts as a string column in two Arrow chunks, as a loaded file can give: two slices
    of one array, or two arrays."""
    half = len(texts) // 2
    whole = pa.array(texts, pa.large_string())
    chunks = pa.chunked_array([whole.slice(0, half), whole.slice(half)] if shared else
                              [pa.array(texts[:half], pa.large_string()),
                               pa.array(texts[half:], pa.large_string())])
    return pd.Series(pd.arrays.ArrowStringArray(chunks))


@pytest.mark.parametrize(("ascii_only", "shared"), [(False, False), (True, True)])
@pytest.mark.parametrize(("query", "regex", "case_sensitive"), [
    ("budget", False, False), ("Budget", False, True), ("kiosk", False, False),
    ("status", False, False), ("été", False, False), ("ÉTÉ", False, True),
    ("the", False, False), (r"refunds?|outage|été", True, False),
    (r"budget|日本", True, False), (r"(?:ü){3}", True, False),
])
@pytest.mark.parametrize("context", [0, 1, 5, 40])
def test_snippets_agree_with_a_plain_search_on_tricky_text(query, regex, case_sensitive,
                                                          context, ascii_only, shared):
    texts: list[str | None] = [t.encode("ascii", "replace").decode() if ascii_only else t
                               for t in TRICKY]
    texts.insert(3, None)  # no text: never matched
    frame = pd.DataFrame({"recording_id": [f"r{i}" for i in range(len(texts))],
                          "transcription": _chunked(texts, shared)})
    hits = search_transcripts(frame, query, regex=regex, case_sensitive=case_sensitive,
                              context=context)
    if shared:  # the later transcriptions started first: the same hits, the other way round
        starts = pd.DataFrame({"recording_id": frame["recording_id"], "conference_name": "c",
                               "recording_start": pd.Timestamp("2026-11-02", tz="UTC")
                               - pd.to_timedelta(range(len(texts)), unit="min")})
        placed = search_transcripts(frame, query, regex=regex, case_sensitive=case_sensitive,
                                    context=context, recordings=starts)
        pd.testing.assert_frame_equal(
            placed.drop(columns=["conference_name", "recording_start"]),
            hits.iloc[::-1].reset_index(drop=True))
    expected = [(f"r{i}", *found) for i, text in enumerate(texts) if text is not None
                for found in [_reference(text, query, regex, case_sensitive, context)] if found]
    got = [tuple(row) for row in hits[["recording_id", "count", "snippet", "match_start",
                                       "match_end"]].itertuples(index=False)]
    assert got == expected
    for snippet, start, end in hits[["snippet", "match_start", "match_end"]].itertuples(
            index=False):
        assert re.fullmatch(query if regex else re.escape(query), snippet[start:end],
                            0 if case_sensitive else re.IGNORECASE)


def test_hits_sharing_a_start_are_ordered_by_recording_id_then_unknown_ones_by_id():
    ids = ["r5", "r3", "r4", "r1", "r2", "r9", "r8"]
    at = pd.to_datetime(["2026-11-02 09:00", "2026-11-01 09:00", "2026-11-02 09:00",
                         "2026-11-02 09:00", "2026-11-01 08:00"], utc=True)
    rec = schema.coerce(pd.DataFrame({"recording_id": ids[:5], "conference_name": "eng",
                                      "recording_start": at}), schema.RECORDINGS)
    tr = pd.DataFrame({"recording_id": ids, "transcription": "the deploy"})
    hits = search_transcripts(tr, "deploy", recordings=rec)
    # r2 (8:00 on the 1st), r3 (9:00 on the 1st), then r1, r4, r5 share a start; r8, r9 have no
    # recording callback
    assert hits["recording_id"].tolist() == ["r2", "r3", "r1", "r4", "r5", "r8", "r9"]
