"""What ``deploy.ipynb`` says around the deploy functions: what a deploy needs before it starts, the Lambda code
each target uploads, the URLs to open afterwards, and what became of each resource locally, grouped.

The deploying itself is ``pixelate.local.target`` and ``pixelate.deploy`` (what ``pixelate deploy`` calls).
"""
from __future__ import annotations

import zipfile
from html import escape
from pathlib import Path
from typing import Iterable, Mapping

#: services the deploy itself calls beside those of the template's resources: CloudFormation runs the change
#: set, S3 holds the code in an artifacts bucket, IAM passes the functions' roles, STS tells the account
DEPLOY_SERVICES = ("cloudformation", "s3", "iam", "sts")
#: a resource type's service as IAM names it, where the two differ
IAM_PREFIX = {"ApiGatewayV2": "apigateway", "StepFunctions": "states"}


def iam_services(template: Mapping) -> list[str]:
    """The IAM service prefixes a deploy of ``template`` uses: the deploy's own and every resource type's."""
    services = set(DEPLOY_SERVICES)
    for resource in template.get("Resources", {}).values():
        parts = str(resource.get("Type", "")).split("::")
        if len(parts) == 3 and parts[0] == "AWS":
            services.add(IAM_PREFIX.get(parts[1], parts[1].lower()))
    return sorted(services)


def needs(template: Mapping, target: str) -> str:
    """What a deploy to ``target`` needs and does to an account, in a few lines (printed before it starts)."""
    if target != "aws":
        return ("target 'local': moto's server on this machine; no AWS account, credentials or charges. "
                "Nothing leaves this machine.")
    services = ", ".join(f"{name}:*" for name in iam_services(template))
    return "\n".join([
        "target 'aws': a real account, and real charges.",
        "- credentials: the PROFILE given, or the usual chain (environment, ~/.aws, an instance role)",
        f"- IAM permissions on the stack's resources, for these services: {services}"
        " (create, update, tag and delete; iam:PassRole for the functions' roles). A narrower policy is not"
        " worked out here.",
        "- charges: Lambda, S3, SQS, SNS, Step Functions, CloudWatch, API Gateway and CloudFront bill by use;"
        " an idle stack costs little but not nothing (stored objects, log retention). Tear it down when done"
        " (TEARDOWN = True).",
        "- this AWS path has never run against a real account from this repository: its tests run against moto."
        " Read the change set before trusting it.",
    ])


def source_zip_summary(path: str | Path) -> str:
    """One line about the source-only zip the local target uploads."""
    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        files = archive.infolist()
    unzipped = sum(item.file_size for item in files)
    return (f"{path}: source only, {len(files)} files, {path.stat().st_size / 1024:.0f} KiB zipped "
            f"({unzipped / 1024:.0f} KiB unzipped); moto stores it and never runs it")


def urls(result: Mapping) -> list[tuple[str, str]]:
    """(what, URL) to open after a deploy: the page and the API when the target has them."""
    found = []
    for key, what in (("DistributionUrl", "the page"), ("ApiUrl", "the API")):
        if result.get(key):
            found.append((what, str(result[key])))
    return found


def after_deploy(result: Mapping, target: str, started_server: bool, teardown: bool) -> str:
    """What to open now and what happens to the stack next, in a few lines."""
    lines = [f"{what}: {url}" for what, url in urls(result)]
    if target == "local" and not lines:
        lines.append("no page or API URL: on the local target they are served by the local edge of `pixelate up`.")
    if teardown:
        lines.append("TEARDOWN is on: the stack is deleted in the last cell.")
    elif target == "local" and started_server:
        lines.append("This moto server was started for this run and stops in the last cell: for a stack that stays up "
                     "for pipeline.ipynb (the page, the API, the workers), run `pixelate up` in a terminal, then this "
                     "notebook again: it deploys onto that stack and leaves it running.")
    elif target == "local":
        lines.append("The stack stays up (TEARDOWN is off): pipeline.ipynb uploads to it; stopping `pixelate up`"
                     " (Ctrl-C) ends it.")
    else:
        lines.append("The stack stays up and is billed by use (TEARDOWN is off): pipeline.ipynb uploads to it; "
                     "`pixelate destroy --target aws` deletes it.")
    return "\n".join(lines)


def by_resource(emulation: Iterable[Mapping[str, str]]) -> list[dict]:
    """The emulation report with one entry per resource: its type, what became of it (each distinct status, in
    the report's order) and every detail."""
    grouped: dict[str, dict] = {}
    for item in emulation:
        entry = grouped.setdefault(item["logical_id"], {"resource": item["logical_id"], "type": item["resource_type"],
                                                        "statuses": [], "details": []})
        if item["status"] not in entry["statuses"]:
            entry["statuses"].append(item["status"])
        entry["details"].append(item["detail"])
    return list(grouped.values())


def by_resource_html(emulation: Iterable[Mapping[str, str]]) -> str:
    """An HTML table, a row per resource, grouped under its AWS service."""
    rows, service = [], None
    for entry in by_resource(emulation):
        this = entry["type"].split("::")[1] if entry["type"].count("::") == 2 else entry["type"]
        if this != service:
            service = this
            rows.append(f"<tr><th colspan='3' style='text-align:left;padding-top:0.6em'>{escape(service)}</th></tr>")
        details = "<br>".join(escape(detail) for detail in entry["details"])
        name = f"{escape(entry['resource'])}<br><small>{escape(entry['type'])}</small>"
        statuses = escape("; ".join(entry["statuses"]))
        rows.append(f"<tr><td style='text-align:left'>{name}</td><td style='text-align:left'>{statuses}</td>"
                    f"<td style='text-align:left'>{details}</td></tr>")
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("resource", "locally", "what was done"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def status_counts(emulation: Iterable[Mapping[str, str]]) -> str:
    """How many resources ended in each way (a resource counted once per distinct status it has), one line."""
    counts: dict[str, int] = {}
    entries = by_resource(emulation)
    for entry in entries:
        for status in entry["statuses"]:
            counts[status] = counts.get(status, 0) + 1
    parts = ", ".join(f"{status} {count}" for status, count in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"{len(entries)} resources: {parts}"
