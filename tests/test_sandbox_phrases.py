"""The sandbox's transcript text reads as written English: what a reader of a search result or a
transcript sees first is a doubled word, a double space or a sentence without its full stop."""

from __future__ import annotations

import random
import re

import pytest

from recording_toolkit.sandbox._phrases import (
    DEPARTMENT_TOPICS,
    KINDS,
    MAX_TURNS,
    meeting_kind,
    transcript,
)

#: One conference name per kind and department, so every sentence meets every topic.
NAMES = [f"{department}-{kind}" for kind in KINDS for department in DEPARTMENT_TOPICS]
SEEDS = range(20)
#: Long enough for several turns, and short enough for two.
DURATIONS_MS = (60_000, 45 * 60_000, 3 * 3600_000)


def _texts():
    for name in NAMES:
        for seed in SEEDS:
            for duration in DURATIONS_MS:
                yield name, transcript(random.Random(seed), name, duration)


@pytest.fixture(scope="module")
def texts():
    return list(_texts())


def test_every_name_reads_as_its_own_kind():
    assert {meeting_kind(name) for name in NAMES} == set(KINDS)


def test_no_word_is_said_twice_in_a_row(texts):
    doubled = [(name, m.group(0)) for name, text in texts
               for m in re.finditer(r"\b(\w+)\s+\1\b", text, flags=re.IGNORECASE)]
    assert doubled == []


def test_no_sentence_is_said_twice_in_a_row(texts):
    repeated = []
    for name, text in texts:
        for line in text.splitlines():
            said = re.findall(r"[^.?!]+[.?!]", line.partition(": ")[2])
            repeated += [(name, a) for a, b in zip(said, said[1:], strict=False)
                         if a.strip() == b.strip()]
    assert repeated == []


def test_each_line_is_a_speaker_then_sentences_with_clean_seams(texts):
    bad = []
    for name, text in texts:
        lines = text.splitlines()
        assert 2 <= len(lines) <= MAX_TURNS
        for line in lines:
            ok = (re.fullmatch(r"Speaker \d+: [A-Z][^\n]*[.?!]", line)
                  and "  " not in line and line == line.strip()
                  # a new sentence starts with a capital, a clause after a comma does not
                  and not re.search(r"[.?!] [a-z]", line)
                  and not re.search(r", (?!I\b|I'|Sam\b)[A-Z][a-z]", line)
                  and "{" not in line)
            if not ok:
                bad.append((name, line))
    assert bad == []


def test_the_topic_still_reads_when_the_sentence_names_its_last_word():
    # "the {topic} issue" with the topic "login issue": once, not twice
    rng = random.Random(0)
    text = "\n".join(transcript(rng, "support-standup", 3 * 3600_000) for _ in range(200))
    assert "login issue" in text
    assert "issue issue" not in text
