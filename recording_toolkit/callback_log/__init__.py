"""The callback log: append-only JSON Lines, durable before acknowledged, idempotent.

Layout (``docs/CONTRACTS.md``)::

    {log_dir}/callbacks-{YYYY-MM-DD}-{instance_id}.jsonl        one line per stored callback
    {log_dir}/_rejected/rejected-{YYYY-MM-DD}-{instance_id}.jsonl     requests refused (403, 413)
    {log_dir}/_quarantine/quarantine-{YYYY-MM-DD}-{instance_id}.jsonl  malformed callbacks, raw

The day is the UTC day of ``received_at``. The instance id is unique per writer
(``{hostname}-{pid}-{random4}`` unless given), so several receivers (processes, or hosts sharing a
folder behind a load balancer) never write into the same file; a lock file makes a second writer
with the same id fail at once instead of interleaving lines.

Why each design choice:

- **Durable before acknowledged.** :meth:`CallbackLog.append` returns only after its line was
  written and ``fsync``'d, so a receiver that answers 2xx after it has promised the line survives
  a crash or power loss. Plivo does not redeliver a callback it got a 2xx for.
- **Group commit.** One writer thread owns the files. It takes everything queued, writes it
  with one ``write`` per file and one ``fsync`` per file, then wakes every waiter of that batch.
  While one ``fsync`` runs the next batch fills up, so throughput grows with concurrency instead
  of collapsing to one ``fsync`` per callback. No waiter is woken before its batch is durable.
- **Batched on the event loop.** Async callers (the receiver) do not hand the writer one line
  each: their lines collect on their own event loop, which passes the writer one batch at a
  time and is woken once per batch with all of its answers. Handing lines over one by one made
  the writer thread compete with the event loop for the interpreter lock on every callback;
  that contention, not the disk, was what limited the receiver's throughput.
- **Idempotent.** Plivo retries callbacks, so one callback can arrive twice. A digest of (kind,
  payload) identifies it (the payload holds ``recording_id``); a callback whose digest is already
  on disk is answered as a duplicate and not written again. The digests are rebuilt from the
  existing ``callbacks-*.jsonl`` files at start, so this holds across restarts. A duplicate that
  arrives while its original is still being written waits for that write and reports a
  duplicate only once the original is durable.
- **Torn last line.** A crash (or a full disk) can leave a partial last line. The writer never
  appends onto it: it starts a fresh line after it, so only that line is damaged; the loader
  quarantines it with its reason.

Where each part lives: ``_format`` (file names, the envelope line, the time stamp, the digest),
``_writer`` (the writer thread: group commit, ``fsync``, roll-back of a failed batch) and
``_log`` (:class:`CallbackLog`: admission, duplicates, the index, the public surface).

Examples
--------
>>> import tempfile
>>> from recording_toolkit.callbacks import normalise_callback
>>> with tempfile.TemporaryDirectory() as folder, CallbackLog(folder, instance_id="doc") as log:
...     event = normalise_callback({"recording_id": "r1", "recording_duration_ms": "5000"})
...     first, again = log.append(event), log.append(event)
...     (first.stored, again.stored, first.path.name.endswith("-doc.jsonl"))
(True, False, True)
"""

from __future__ import annotations

from ..timestamps import format_timestamp
from ._format import (
    QUARANTINE_DIR,
    REJECTED_DIR,
    check_instance_id,
    default_instance_id,
    encode_envelope,
    envelope_digest,
    log_dir_problem,
)
from ._log import AppendResult, CallbackLog

__all__ = [
    "QUARANTINE_DIR",
    "REJECTED_DIR",
    "AppendResult",
    "CallbackLog",
    "check_instance_id",
    "default_instance_id",
    "encode_envelope",
    "envelope_digest",
    "format_timestamp",
    "log_dir_problem",
]
