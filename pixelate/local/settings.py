"""What the local runner reads from the deployed stack, as Lambda's own poller would: the function and its
event source mapping on the job queue, and the queue's visibility timeout and redrive policy."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from pixelate.local.lambda_sim import FunctionSettings, function_settings, moto_client


@dataclass(frozen=True)
class QueueSettings:
    """How Lambda would poll: read from the event source mapping and the queue's attributes."""

    url: str
    arn: str
    mapping_uuid: str
    batch_size: int
    report_batch_item_failures: bool
    visibility_timeout_s: int
    max_receive_count: int | None
    dead_letter_arn: str | None
    max_concurrency: int | None = None  # the mapping's ScalingConfig.MaximumConcurrency: at most this many workers


@dataclass(frozen=True)
class RunnerSettings:
    endpoint_url: str
    region: str
    function: FunctionSettings
    queue: QueueSettings


def read_settings(endpoint_url: str, region: str, queue_url: str) -> RunnerSettings:
    """The runner's settings for the function mapped to ``queue_url``, as deployed."""
    sqs = moto_client("sqs", endpoint_url, region)
    lambda_ = moto_client("lambda", endpoint_url, region)
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    mappings = lambda_.list_event_source_mappings(EventSourceArn=attributes["QueueArn"])["EventSourceMappings"]
    if len(mappings) != 1:
        raise RuntimeError(f"expected one event source mapping on {attributes['QueueArn']}, found {len(mappings)}")
    mapping = mappings[0]
    configuration = lambda_.get_function_configuration(FunctionName=mapping["FunctionArn"])
    return RunnerSettings(
        endpoint_url=endpoint_url,
        region=region,
        function=function_settings(configuration),
        queue=queue_settings(queue_url, attributes, mapping),
    )


def queue_settings(queue_url: str, attributes: dict, mapping: dict) -> QueueSettings:
    redrive = json.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else {}
    scaling = mapping.get("ScalingConfig") or {}
    return QueueSettings(
        url=queue_url,
        arn=attributes["QueueArn"],
        mapping_uuid=mapping["UUID"],
        batch_size=int(mapping.get("BatchSize", 10)),
        report_batch_item_failures="ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []),
        visibility_timeout_s=int(attributes.get("VisibilityTimeout", 30)),
        max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
        dead_letter_arn=redrive.get("deadLetterTargetArn"),
        max_concurrency=int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None,
    )


def worker_count(requested: int, settings: RunnerSettings) -> int:
    """Lambda runs at most the mapping's MaximumConcurrency instances on the queue; so does the runner."""
    cap = settings.queue.max_concurrency
    return max(1, min(requested, cap) if cap else requested)


def settings_from_dict(data: dict) -> RunnerSettings:
    """The settings back from their JSON form (what the parent sends a worker)."""
    return RunnerSettings(
        endpoint_url=data["endpoint_url"],
        region=data["region"],
        function=FunctionSettings(**data["function"]),
        queue=QueueSettings(**data["queue"]),
    )


def settings_summary(settings: RunnerSettings) -> dict:
    """The settings as plain data, for stack.json and the printout of ``pixelate up`` (no environment)."""
    summary = asdict(settings)
    summary["function"].pop("environment")
    return summary
