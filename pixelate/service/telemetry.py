"""Logs and metrics of the Lambdas (Powertools): one logger and one metrics object per process.

Metrics are CloudWatch embedded-metric-format documents in the logs, namespace ``Pixelator``:
``ImagesDone``, ``ImagesFailed`` (in all, and by ``reason``), ``ProcessingMs``, ``InputMegapixels``;
``TransientFailures`` (a job failed back to the queue for redelivery: S3 errors, throttling, timeouts of a call,
a lost write race; what an alarm watches, since those never reach Lambda's ``Errors``), ``NotificationsFailed``
(a committed job whose SNS publish failed) and ``UploadsReused`` (a second version posted through one upload slot,
ignored).
"""
from __future__ import annotations

import os
import warnings

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "pixelator"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Pixelator"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# An invocation that only skipped (a test event, a duplicate) has no metric to flush: that is normal here.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def record_done(elapsed_ms: int, pixels: int) -> None:
    metrics.add_metric(name="ImagesDone", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ProcessingMs", unit=MetricUnit.Milliseconds, value=elapsed_ms)
    metrics.add_metric(name="InputMegapixels", unit=MetricUnit.NoUnit, value=round(pixels / 1e6, 3))


def record_failure(reason: str) -> None:
    # The total, on the function's usual dimension set: what an alarm watches.
    metrics.add_metric(name="ImagesFailed", unit=MetricUnit.Count, value=1)
    # The same count by reason, for dashboards. Powertools applies a Metrics object's dimensions to every
    # metric of a flush, so the reason dimension goes into an EMF document of its own.
    with single_metric(
        name="ImagesFailed",
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE, "reason": reason},
    ):
        pass


def record_transient_failure() -> None:
    metrics.add_metric(name="TransientFailures", unit=MetricUnit.Count, value=1)


def record_notification_failure() -> None:
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)


def record_reused_upload() -> None:
    metrics.add_metric(name="UploadsReused", unit=MetricUnit.Count, value=1)
