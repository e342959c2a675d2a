"""Normalising raw callbacks (callbacks.py)."""

from __future__ import annotations

import pytest

from recording_toolkit.callbacks import (
    CallbackEvent,
    infer_kind,
    normalise_callback,
    normalise_fields,
    snake_case,
)
from recording_toolkit.errors import CallbackError

RECORDING = {
    "api_id": "a1b2",
    "record_url": "https://media.plivo.com/v1/Account/MA/Recording/r1.mp3",
    "recording_id": "r1",
    "conference_name": "My Conf Room",
    "recording_duration": "345",
    "recording_duration_ms": "345100.00000",
    "recording_start_ms": "1763978100000",
    "recording_end_ms": "1763978445100",
}
TRANSCRIPTION = {
    "transcription": "Grüße — 你好",
    "transcription_charge": "0.05",
    "transcription_rate": "0.05",
    "duration": "23",
    "call_uuid": "c1",
    "recording_id": "r1",
    "error": "",
}


@pytest.mark.parametrize(("name", "expected"), [
    ("RecordUrl", "record_url"),
    ("RecordingID", "recording_id"),
    ("RecordingDurationMs", "recording_duration_ms"),
    ("RecordingStartMs", "recording_start_ms"),
    ("RecordingEndMs", "recording_end_ms"),
    ("ConferenceName", "conference_name"),
    ("CallUUID", "call_uuid"),
    ("TranscriptionRate", "transcription_rate"),
    ("recording_id", "recording_id"),
    ("SIP-H-To", "sip_h_to"),
])
def test_snake_case(name, expected):
    assert snake_case(name) == expected


def test_xml_started_recording_callback_gets_snake_case_names_and_unchanged_values():
    camel = {
        "RecordUrl": RECORDING["record_url"], "RecordingID": "r1", "ConferenceName": "My Conf Room",
        "RecordingDuration": "345", "RecordingDurationMs": "345100.00000",
        "RecordingStartMs": "1763978100000", "RecordingEndMs": "1763978445100",
    }
    event = normalise_callback(camel, kind="recording")
    assert event.payload == {k: v for k, v in RECORDING.items() if k != "api_id"}
    assert event.kind == "recording" and event.recording_id == "r1"


def test_values_are_kept_as_text_exactly_as_received():
    fields = normalise_fields({
        "recording_duration_ms": "345100.00000",   # never turned into a number here
        "int_json": 345100, "float_json": 0.05, "flag": True, "nothing": None,
        "nested": {"a": [1, "ü"]}, "spaces": "  padded  ",
    })
    assert fields == {
        "recording_duration_ms": "345100.00000", "int_json": "345100", "float_json": "0.05",
        "flag": "true", "nothing": "", "nested": '{"a": [1, "ü"]}', "spaces": "  padded  ",
    }


def test_same_field_twice_with_the_same_value_is_fine():
    assert normalise_fields([("recording_id", "r1"), ("RecordingID", "r1"),
                             ("recording_id", "r1")]) == {"recording_id": "r1"}
    assert normalise_fields({"recording_id": ["r1"]}) == {"recording_id": "r1"}
    assert normalise_fields({"error": []}) == {"error": ""}


@pytest.mark.parametrize("fields", [
    [("recording_id", "r1"), ("RecordingID", "r2")],
    [("RecordingID", "r2"), ("recording_id", "r1")],
    [("recording_id", "r1"), ("recording_id", "r2")],
    {"recording_id": ["r1", "r2"]},
])
def test_conflicting_copies_of_a_field_are_refused_not_silently_dropped(fields):
    with pytest.raises(CallbackError, match="recording_id"):
        normalise_fields(fields)


@pytest.mark.parametrize(("fields", "message"), [
    ([("recording_id", "r1"), ("RecordingID", "r2")],
     "field 'recording_id' is given more than once with different values: 'r1' (as"
     " 'recording_id') and 'r2' (as 'RecordingID'); refusing to pick one"),
    ([("recording_id", "r1"), ("recording_id", "r2")],
     "field 'recording_id' is given more than once with different values: 'r1' and 'r2';"
     " refusing to pick one"),
    ({"recording_id": ["r1", "r2", "r3"]},
     "field 'recording_id' holds 3 different values ('r1', 'r2', ...); expected one"),
])
def test_conflicting_copies_show_the_field_and_both_values(fields, message):
    with pytest.raises(CallbackError) as info:
        normalise_fields(fields)
    assert str(info.value) == message


def test_conflicting_copies_shorten_long_values_and_hide_secrets():
    with pytest.raises(CallbackError) as info:
        normalise_fields([("transcription", "a" * 5000), ("transcription", "b" * 5000)])
    message = str(info.value)
    assert f"{'a' * 40!r}... (5000 characters)" in message and "b" * 41 not in message
    assert len(message) < 250
    with pytest.raises(CallbackError) as info:
        normalise_fields([("auth_token", "s3cret-one"), ("AuthToken", "s3cret-two")])
    assert "'auth_token'" in str(info.value) and "s3cret" not in str(info.value)
    assert str(info.value).count("[hidden]") == 2


def test_infer_kind():
    assert infer_kind(RECORDING) == "recording"
    assert infer_kind(TRANSCRIPTION) == "transcription"
    assert infer_kind({"recording_id": "r1", "message": "record_done"}) == "recording"
    assert infer_kind({"recording_id": "r1"}) is None
    assert infer_kind({**RECORDING, **TRANSCRIPTION}) is None


def test_kind_from_the_fields_when_no_endpoint_says():
    assert normalise_callback(RECORDING).kind == "recording"
    event = normalise_callback(TRANSCRIPTION)
    assert event == CallbackEvent("transcription", TRANSCRIPTION)
    assert event.payload["transcription"] == "Grüße — 你好"


def test_endpoint_kind_is_used_for_a_payload_that_does_not_tell():
    assert normalise_callback({"recording_id": "r1"}, kind="transcription").kind == "transcription"


def test_payload_of_the_other_kind_is_refused():
    with pytest.raises(CallbackError, match="transcription callback fields but was sent as a"
                                            " recording"):
        normalise_callback(TRANSCRIPTION, kind="recording")


@pytest.mark.parametrize(("payload", "reason"), [
    ({"recording_id": "r1"}, "none of"),
    ({**RECORDING, **TRANSCRIPTION}, "recording fields .* and transcription fields"),
])
def test_undecidable_kind_says_why(payload, reason):
    with pytest.raises(CallbackError, match=reason):
        normalise_callback(payload)


@pytest.mark.parametrize("recording_id", [None, "", "   "])
def test_recording_id_is_required(recording_id):
    payload = {k: v for k, v in RECORDING.items() if k != "recording_id"}
    if recording_id is not None:
        payload["recording_id"] = recording_id
    with pytest.raises(CallbackError, match="recording_id is missing or empty") as info:
        normalise_callback(payload, kind="recording")
    assert info.value.reason == "recording_id is missing or empty"


def test_unknown_kind_is_refused():
    with pytest.raises(CallbackError, match="unknown event kind 'voicemail'"):
        normalise_callback(RECORDING, kind="voicemail")  # type: ignore[arg-type]
