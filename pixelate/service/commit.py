"""Committing one job's outcome: the status record first (the commit marker), then one notification.

- **Once per job.** The work and the deadline's watchdog (``deadline``) may both try to end a job; whichever
  claims it first writes, the other does nothing.
- **Conditional.** The status record is written with ``IfMatch`` the ETag of the record read when the job
  started, or ``IfNoneMatch="*"`` when there was none (``store.write_condition``): if another worker wrote a
  record in between (a newer version of the object, a duplicate event), this write loses with
  ``store.WriteConflict`` and an older version can never land last.
- **Status, then notification.** A subscriber told ``done`` can always read the status; a status write that
  fails sends nothing, so a retried job notifies once, not once per attempt. A publish that still fails after
  the SDK's retries is logged with the key and counted (``NotificationsFailed``) but not retried: the job is
  committed, and a redelivery would find the status and do nothing. Notifications are at most once per
  committed record; the status record is the source of truth.
"""
from __future__ import annotations

import threading

from botocore.exceptions import BotoCoreError, ClientError

from pixelate.service import status, store
from pixelate.service.telemetry import logger, record_notification_failure


#: How long the loser of a claim waits for the winner's commit to finish (a status write and a publish, with the
#: SDK's retries, take well under this).
FINISH_WAIT_S = 10.0


class Committer:
    """Ends one job with one status record (then one notification), whoever asks first."""

    def __init__(self, bucket: str, source_key: str, status_etag: str | None, s3, topic_arn: str | None = None, sns=None,
                 metadata: dict[str, str] | None = None):
        self.bucket, self.key = bucket, status.status_key(source_key)
        self.metadata = dict(metadata or {})  # user metadata of the status object (not in the record)
        self.condition = store.write_condition(status_etag)
        self.s3, self.topic_arn, self.sns = s3, topic_arn, sns
        self._lock = threading.Lock()
        self._claimed_by: str | None = None
        self._finished = threading.Event()

    @property
    def claimed_by(self) -> str | None:
        """Who ended the job (``work`` or ``deadline``), or None while it is open."""
        return self._claimed_by

    def claim(self, by: str) -> bool:
        """Claim the job for ``by``; False when it is already claimed."""
        with self._lock:
            if self._claimed_by is not None:
                return False
            self._claimed_by = by
            return True

    def commit(self, record: dict, by: str = "work") -> str | None:
        """Write ``record`` then notify; returns the status object's ETag, or None when the job was already
        claimed (once the claimer's commit has finished, so that the invocation does not end under it).
        Raises ``store.WriteConflict`` when another writer got there first, and botocore's errors when the
        write fails (transient)."""
        if not self.claim(by):
            self._finished.wait(FINISH_WAIT_S)
            return None
        try:
            etag = store.put_status(self.bucket, self.key, record, self.s3, condition=self.condition, metadata=self.metadata)
            if self.topic_arn:
                self.notify(record)
            return etag
        finally:
            self._finished.set()

    def wait_if_claimed(self) -> bool:
        """True when the job is already ended by someone else, once their commit has finished."""
        if self._claimed_by is None:
            return False
        self._finished.wait(FINISH_WAIT_S)
        return True

    def notify(self, record: dict) -> None:
        try:
            store.notify(self.topic_arn, record, self.sns)
        except (ClientError, BotoCoreError) as error:
            record_notification_failure()
            logger.error(
                "notification not sent; the status record is written",
                extra={"key": record["source"]["key"], "state": record["state"], "cause": f"{type(error).__name__}: {error}"},
            )
