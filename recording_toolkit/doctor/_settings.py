"""The toolkit's own settings: the rate card (file and ``RECORDING_TOOLKIT_RATE_*`` variables)
and the request journal, checked the way the commands that use them check them."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..config import RateCard
from ..errors import ConfigurationError
from ..journal import RequestJournal
from ._result import CheckResult

__all__ = ["check_journal", "check_rate_card"]


def check_rate_card(rates: str | os.PathLike[str] | None, environ: Mapping[str, str]
                    ) -> CheckResult:
    """The rate card the reports would use: defaults, then ``rates`` (TOML), then the
    environment."""
    try:
        card = RateCard.resolve(path=rates, environ=environ)
    except ConfigurationError as exc:
        return CheckResult("rate card", "failed", str(exc),
                           "correct the file or variable named (see docs/cli.md, report)")
    overridden = sorted(k for k in environ if k.startswith("RECORDING_TOOLKIT_RATE_"))
    source = f"{os.fspath(rates)}" if rates is not None else "the defaults"
    if overridden:
        source += f" and {', '.join(overridden)}"
    found = (f"{source}: transcription {card.transcription_per_minute:g} {card.currency}/min,"
             f" storage {card.storage_per_minute_month:g} {card.currency}/min-month after"
             f" {card.free_storage_days} free days")
    return CheckResult("rate card", "ok", found, "", card.as_dict())


def check_journal(journal: str | os.PathLike[str] | None, *, option: str = "journal"
                  ) -> CheckResult:
    """Whether ``journal`` can be appended to, as ``start --journal`` checks it (``option``
    names it in the finding)."""
    if journal is None:
        return CheckResult("journal", "skipped", "no journal given (start and stop record each"
                           " request with --journal PATH)", "")
    shown = os.fspath(journal)
    try:
        with RequestJournal(journal).open(option=option):
            pass
    except ConfigurationError as exc:
        return CheckResult("journal", "failed", str(exc), f"give {option} a file you can write",
                           {"path": shown})
    exists = os.path.isfile(journal)
    state = "exists and can be appended to" if exists else "can be created"
    return CheckResult("journal", "ok", f"{shown} {state}", "", {"path": shown})
