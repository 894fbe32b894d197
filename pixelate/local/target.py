"""The local target of a deploy: the template on moto's server, plus what moto's CloudFormation ignores.

``deploy_local(endpoint_url, region="us-east-1", stack_name="pixelator", parameters=None) -> dict``
    Upload a source-only code zip to an artifacts bucket outside the stack (moto never runs the code: the local
    runner imports it from this checkout), create (or update) the stack on moto's CloudFormation with
    ``Environment=local``, then apply what moto ignores (:mod:`.emulate`). Returns the stack outputs plus
    ``EndpointUrl``, ``Region`` and ``Emulation`` (a list of dicts: logical_id, resource_type, status, detail).
    ``DistributionUrl`` and ``ApiUrl`` are absent: the local edge adds them.
``destroy_local(endpoint_url, region="us-east-1", stack_name="pixelator") -> None``
    Empty the stack's buckets, delete the stack and the artifacts bucket.
``deploy(target, stack_name, region, profile, parameters, endpoint_url, folder) -> dict`` / ``destroy(...)``
    Either target (``local`` here, ``aws`` through ``pixelate.deploy.stack``), and ``.pixelate/stack.json``
    written (locally keeping the edge URLs ``pixelate up`` wrote): what ``pixelate deploy``/``destroy`` and
    ``deploy.ipynb`` call.
``local_endpoint(folder=".") -> (url, server or None)``
    The running local stack's moto URL from ``.pixelate/stack.json`` when it answers; otherwise a moto server
    started for this run (the caller stops it with ``server.stop()``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from pixelate.deploy.package import source_zip
from pixelate.deploy.stack import (
    DeployError, artifacts_bucket_name, aws_refusals, code_key, create_or_update_stack, delete_bucket, delete_stack,
    deploy_aws, describe_stack, destroy_aws, effective_parameters, ensure_private_bucket, local_session, outputs_of,
    parameters_of, physical_ids, stack_parameters, upload_if_missing,
)
from pixelate.deploy.stackfile import read_stack_file, write_stack_file
from pixelate.deploy.template import load_template, template_text
from pixelate.local import emulate as emulation
from pixelate.local import moto_server

#: Outputs the template has only on AWS (behind the IsAws condition): the local edge provides them.
EDGE_OUTPUTS = ("DistributionUrl", "ApiUrl")


def _local_clients(endpoint_url: str, region: str):
    session = local_session(region)
    return {name: session.client(name, endpoint_url=endpoint_url)
            for name in ("cloudformation", "s3", "sqs", "sns", "sts")}


def deploy_local(endpoint_url: str, region: str = "us-east-1", stack_name: str = "pixelator",
                 parameters: Mapping[str, Any] | None = None, template_file: str | Path | None = None,
                 build_dir: str | Path = "build/lambda") -> dict:
    """Deploy to moto's server at ``endpoint_url`` (see the module docstring)."""
    c = _local_clients(endpoint_url, region)
    template = load_template(template_file)
    account_id = c["sts"].get_caller_identity()["Account"]
    bucket = artifacts_bucket_name(stack_name, account_id, region)
    ensure_private_bucket(c["s3"], bucket, region)
    zip_path = source_zip(build_dir)
    key = code_key(zip_path)
    upload_if_missing(c["s3"], bucket, key, zip_path)
    values = {**(parameters or {}), "Environment": "local", "CodeBucket": bucket, "CodeKey": key}
    body = template_text(template_file)
    action = create_or_update_stack(c["cloudformation"], stack_name, {"TemplateBody": body},
                                    stack_parameters(template, values), parsed=template)
    stack = describe_stack(c["cloudformation"], stack_name)
    ids = physical_ids(c["cloudformation"], stack_name)
    # the values in effect, previous ones kept on an update included
    in_effect = {**effective_parameters(template, values), **parameters_of(stack)}
    ctx = emulation.stack_context(template, in_effect, ids, region, account_id, stack_name)
    report = emulation.emulate(template, ctx, c["s3"], c["sqs"], c["sns"])
    return {
        **outputs_of(stack),
        "EndpointUrl": endpoint_url,
        "Region": region,
        "StackAction": action,
        "Emulation": [e.as_dict() for e in report],
    }


def destroy_local(endpoint_url: str, region: str = "us-east-1", stack_name: str = "pixelator") -> None:
    c = _local_clients(endpoint_url, region)
    delete_stack(c["cloudformation"], c["s3"], stack_name, delay=1)
    account_id = c["sts"].get_caller_identity()["Account"]
    delete_bucket(c["s3"], artifacts_bucket_name(stack_name, account_id, region))





def deploy(target: str = "local", stack_name: str = "pixelator", region: str | None = None,
           profile: str | None = None, parameters: Mapping[str, Any] | None = None,
           endpoint_url: str | None = None, folder: str | Path = ".", build_dir: str | Path = "build/lambda") -> dict:
    """Deploy to ``target`` and write ``<folder>/.pixelate/stack.json``; return what the deploy function returned."""
    if target == "aws":
        result = deploy_aws(stack_name, region, profile, parameters, build_dir)
    elif target == "local":
        if not endpoint_url:
            raise DeployError("the local target needs the moto endpoint URL (see local_endpoint)")
        known = read_stack_file(folder) or {}
        with aws_refusals(stack_name, region or "us-east-1", endpoint=endpoint_url):
            result = deploy_local(endpoint_url, region or "us-east-1", stack_name, parameters, build_dir=build_dir)
        if known.get("EndpointUrl") == endpoint_url:
            # the running local stack's file: what `pixelate up` wrote (the edge URLs, its processes) stays
            write_stack_file({**known, **result}, folder)
            return {**{k: known[k] for k in EDGE_OUTPUTS if k in known}, **result}
    else:
        raise DeployError(f"target must be 'local' or 'aws', not {target!r}")
    write_stack_file(result, folder)
    return result


def destroy(target: str = "local", stack_name: str = "pixelator", region: str | None = None,
            profile: str | None = None, endpoint_url: str | None = None) -> None:
    if target == "aws":
        destroy_aws(stack_name, region, profile)
    elif target == "local":
        if not endpoint_url:
            raise DeployError("the local target needs the moto endpoint URL (see local_endpoint)")
        with aws_refusals(stack_name, region or "us-east-1", endpoint=endpoint_url):
            destroy_local(endpoint_url, region or "us-east-1", stack_name)
    else:
        raise DeployError(f"target must be 'local' or 'aws', not {target!r}")


def local_endpoint(folder: str | Path = ".") -> tuple[str, Any]:
    """The running local stack's moto URL, or a moto server started for this run: ``(url, server or None)``."""
    known = (read_stack_file(folder) or {}).get("EndpointUrl")
    if known and moto_server.moto_answers(known):
        return known, None

    server = moto_server.start()
    return server.url, server
