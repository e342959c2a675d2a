"""The sandbox's transcript text: a phrase bank per kind of meeting, spoken by several speakers.

A transcript search or a keyword chart over the sandbox's data shows something only if the text
differs the way real meetings do: a stand-up talks about blockers, an interview about
experience, an escalation about outages, and a finance meeting says "invoice" where an
engineering one says "deploy". So :func:`transcript` picks its sentences from the bank of the
meeting's kind (:func:`meeting_kind`, read from the conference name: ``sales-calls`` is a
call, ``eng-standup`` a stand-up) and fills their blanks with the topics of its department
(``sales``, ``eng``, ...). Names it cannot read get the general bank.

The text is one ``Speaker N: ...`` line per turn, as Plivo's transcriptions read (see
``docs/plivo.md``, "Transcriptions"), with two to eight speakers by kind, and a length that
follows the recording's: about one turn per nine minutes, varied, from 2 to
:data:`MAX_TURNS` turns (the committed sample data stays small; a turn stands for a stretch of
talk, not all of it).

Everything is drawn from the generator it is given; the simulation gives it one of its own,
keyed by the recording (``keyed_rng(seed, "transcript", recording_id)``), so the text draws
nothing from the generators of durations, turnarounds or faults.

Examples
--------
>>> import random
>>> meeting_kind("eng-standup"), meeting_kind("Legal Escalations"), meeting_kind("board")
('standup', 'escalations', 'general')
>>> text = transcript(random.Random(1), "finance-review", 600_000)
>>> text.splitlines()[0].startswith("Speaker ")
True
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping

__all__ = ["DEPARTMENT_TOPICS", "KINDS", "MAX_TURNS", "department_of", "meeting_kind",
           "transcript"]

#: The most turns a transcript has (a recording of two hours or more).
MAX_TURNS = 10

#: Sentences per kind of meeting; ``{topic}`` is filled with one of the department's topics
#: (nouns, each after "the").
KINDS: Mapping[str, tuple[str, ...]] = {
    "standup": (
        "Yesterday I finished the {topic} work and today I'm picking up the next ticket.",
        "No blockers on my side.", "I'm blocked on the {topic} review, can someone take a look?",
        "I paired with Sam on the {topic} issue, we should be done by lunch.",
        "The build was red this morning but it's green again.",
        "I'll be out on Friday, so I'm handing over the {topic} tasks.",
        "Quick update: the {topic} checklist is done.", "Still waiting on the vendor for that.",
        "Let's take that offline after the standup.", "I need fifteen minutes with you after this.",
    ),
    "sync": (
        "Let's go through the action items from last time.",
        "The {topic} numbers look better than last week.",
        "Can you own the follow-up on the {topic}?", "I think we need a decision on the budget today.",
        "The timeline for the {topic} slipped by a week.",
        "Let's loop in the other team before we commit.",
        "I'll write it up and share the document after the call.",
        "Do we have everything we need for the {topic}?",
        "The priority is still the {topic}, everything else can wait.",
        "Let's check in again on Thursday.",
    ),
    "review": (
        "Let's walk through the {topic} proposal slide by slide.",
        "The main risk I see is the {topic} dependency.",
        "I'd like a second opinion on the {topic} numbers.",
        "Overall this looks good, with a few comments.",
        "Can we see the data behind that chart?", "I'm not convinced the estimate is realistic.",
        "Let's approve it with the changes we discussed.",
        "The {topic} section needs more detail before sign-off.",
        "We should compare it against last quarter's review.",
        "Please send the revised version by Monday.",
    ),
    "calls": (
        "Thanks for taking the time to talk today.",
        "Could you tell me more about how you handle the {topic} today?",
        "Our pricing depends on the number of seats.",
        "I can send you a quote by the end of the week.",
        "The customer mentioned a competitor's offer on the {topic}.",
        "Let me check with my team and get back to you.",
        "Is there a budget approved for this quarter?",
        "We can set up a demo of the {topic} features next week.",
        "I'm sorry about the trouble with the {topic}, let me look into it.",
        "The contract renewal is due next month.",
    ),
    "interviews": (
        "Tell me about a project you're proud of.",
        "How did you approach the {topic} in your last role?",
        "What would you do differently next time?",
        "I have five years of experience with the {topic}.",
        "Can you walk me through your design?", "What questions do you have for us?",
        "The team works mostly remote, with an office day each week.",
        "We'll get back to you with feedback within a week.",
        "How do you handle a disagreement with a colleague?",
        "The salary range for the role is in the job description.",
    ),
    "weekly": (
        "Here's the weekly summary for the {topic}.", "This week we hit the target for the {topic}.",
        "Headcount is unchanged this week.", "Let's celebrate the launch, well done everyone.",
        "Next week the focus is the {topic}.", "Please fill in the survey by Friday.",
        "There's an all-hands on Thursday.", "Any questions before we close the week?",
        "The dashboard for the {topic} is now updated every morning.",
        "Thanks everyone for a good week.",
    ),
    "planning": (
        "Let's size the {topic} stories for the next sprint.",
        "What's our capacity given the holidays?", "I'd estimate that at three points.",
        "The roadmap puts the {topic} in the next quarter.",
        "We should cut scope rather than move the date.",
        "Let's agree on the goals for the quarter.", "Who can take the {topic} epic?",
        "The dependencies on the {topic} need to be mapped first.",
        "We have budget for one more contractor.",
        "Let's review the plan again in two weeks.",
    ),
    "escalations": (
        "The customer escalated the {topic} outage to their executive.",
        "We need a root cause by the end of the day.",
        "The incident started at nine and was mitigated by ten.",
        "Can we offer a credit for the downtime?", "The workaround for the {topic} is in place.",
        "Let's get the {topic} owner on the bridge.", "Severity one, all hands on this.",
        "We'll send the customer an update every hour.",
        "The refund request for the {topic} was approved.",
        "Let's write the postmortem and share it on Monday.",
    ),
    "general": (
        "Thanks everyone for joining.", "Can everyone hear me?",
        "Let's start with the {topic}.", "I will share the slides after the call.",
        "Can we move this to next week?", "Let's park that and come back to it.",
        "Who is taking notes today?", "I think we covered the {topic}.",
        "Let's wrap up here.", "I'll send out the notes.",
    ),
}

#: Topics per department, for the ``{topic}`` blanks; ``general`` for any other name.
DEPARTMENT_TOPICS: Mapping[str, tuple[str, ...]] = {
    "sales": ("pipeline", "renewal", "discount", "enterprise deal", "quota"),
    "eng": ("deploy", "database migration", "API latency", "release",
            "test suite"),
    "support": ("ticket backlog", "refund", "login issue", "SLA",
                "help center"),
    "finance": ("invoice", "budget", "audit", "forecast", "expense report"),
    "hr": ("onboarding", "benefits enrolment", "hiring plan", "payroll",
           "offer letter"),
    "design": ("prototype", "user research", "style guide", "mockups",
               "accessibility review"),
    "marketing": ("campaign", "webinar", "newsletter", "launch",
                  "brand refresh"),
    "ops": ("on-call rotation", "outage", "capacity plan", "vendor contract",
            "backups"),
    "legal": ("contract", "NDA", "compliance review", "privacy policy",
              "trademark"),
    "general": ("agenda", "project", "schedule", "next steps", "budget"),
}

#: Words in a conference name that say its kind, beyond the kinds' own names.
_KIND_WORDS = {"standup": "standup", "standups": "standup", "daily": "standup",
               "sync": "sync", "syncs": "sync", "1on1": "sync", "review": "review",
               "reviews": "review", "call": "calls", "calls": "calls", "interview": "interviews",
               "interviews": "interviews", "weekly": "weekly", "planning": "planning",
               "sprint": "planning", "escalation": "escalations", "escalations": "escalations",
               "incident": "escalations"}
_DEPARTMENT_WORDS = {"sales": "sales", "eng": "eng", "engineering": "eng", "support": "support",
                     "finance": "finance", "hr": "hr", "people": "hr", "design": "design",
                     "marketing": "marketing", "ops": "ops", "operations": "ops",
                     "legal": "legal"}
_SPEAKERS = {"standup": (4, 8), "sync": (2, 4), "review": (3, 6), "calls": (2, 3),
             "interviews": (2, 3), "weekly": (3, 8), "planning": (3, 6), "escalations": (3, 6),
             "general": (2, 5)}


def _words(conference_name: str | None) -> list[str]:
    return re.findall(r"[a-z0-9]+", (conference_name or "").lower())


def meeting_kind(conference_name: str | None) -> str:
    """The kind of meeting a conference name says (a key of :data:`KINDS`), the last word
    that says one winning (``sales-review-calls`` is a call); ``general`` when none does."""
    kinds = [_KIND_WORDS[word] for word in _words(conference_name) if word in _KIND_WORDS]
    return kinds[-1] if kinds else "general"


def department_of(conference_name: str | None) -> str:
    """The department a conference name starts with (a key of :data:`DEPARTMENT_TOPICS`),
    the first word that names one winning; ``general`` when none does."""
    found = [_DEPARTMENT_WORDS[w] for w in _words(conference_name) if w in _DEPARTMENT_WORDS]
    return found[0] if found else "general"


def transcript(rng: random.Random, conference_name: str | None, duration_ms: int) -> str:
    """The text of a recording of ``duration_ms`` on ``conference_name``, drawn from ``rng``.

    One line per turn, ``Speaker N: `` then a sentence of the meeting's kind (now and then
    one of the general bank), the first turn opening with a greeting half the time (never the
    sentence it opens).
    """
    kind, department = meeting_kind(conference_name), department_of(conference_name)
    bank, general = KINDS[kind], KINDS["general"]
    topics = DEPARTMENT_TOPICS[department]
    minutes = max(0.0, duration_ms / 60_000)
    turns = max(2, min(MAX_TURNS, round(minutes / 9 * rng.uniform(0.6, 1.4))))
    low, high = _SPEAKERS[kind]
    speakers = rng.randint(low, high)
    lines = []
    speaker = 0
    for turn in range(turns):
        if turn:  # a different person speaks next
            speaker = (speaker + rng.randint(1, speakers - 1)) % speakers
        source = general if rng.random() < 0.15 else bank
        sentence = rng.choice(source)
        line = _fill(sentence, rng.choice(topics))
        if turn == 0 and rng.random() < 0.5:  # a greeting other than the sentence itself
            greeting = rng.choice([g for g in general[:3] if g != sentence])
            line = _fill(greeting, rng.choice(topics)) + " " + line
        lines.append(f"Speaker {speaker}: {line[:1].upper()}{line[1:]}")
    return "\n".join(lines)


def _fill(sentence: str, topic: str) -> str:
    """``sentence`` with its ``{topic}`` blank filled, without saying a word twice where the
    topic ends with the word the sentence puts after it: "the login issue issue" would read
    wrong, so ``the {topic} issue`` with ``login issue`` gives "the login issue".

    >>> _fill("I'm blocked on the {topic} review.", "compliance review")
    "I'm blocked on the compliance review."
    >>> _fill("I'm blocked on the {topic} review.", "budget")
    "I'm blocked on the budget review."
    """
    before, blank, after = sentence.partition("{topic}")
    if not blank:
        return sentence
    last = topic.rsplit(" ", 1)[-1]
    following = re.match(r" (\w+)", after)
    if following and last and following.group(1).lower() == last.lower():
        after = after[following.end():]
    return before + topic + after
