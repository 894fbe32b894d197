"""The backfill state machine of cloudformation.yaml, walked and evaluated: its ItemReaders, the message its
ItemSelectors build (JSONata, evaluated with jsonata-python) against the one module that defines it
(pixelate.service.events), the batches of ten and the SendMessageBatch call, the caps, and its role's policy.

moto keeps no Distributed Map and runs none (see pixelate/local/emulate.py), so this is where the definition
is held to the local sender's behaviour: both must put the same messages, in the same batches, on the queue.
"""
from __future__ import annotations

import json
import re
from urllib.parse import quote_plus

import jsonata
import pytest

from pixelate.deploy.backfill import execution_input
from pixelate.deploy.template import Context, load_template, parameter_defaults, resolve, resource_enabled
from pixelate.service.events import BACKFILL_BATCH_SIZE, backfill_batches, jobs_from_message
from tests.support.awkward_keys import KEYS

ACCOUNT, REGION, STACK = "123456789012", "eu-west-1", "pixelator"
ORIGINALS = f"{STACK}-originals-{ACCOUNT}-{REGION}"
PROCESSED = f"{STACK}-processed-{ACCOUNT}-{REGION}"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{STACK}-JobQueue-ABC"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{STACK}-JobQueue-ABC"
MAPS = ("ListedObjects", "InventoryObjects")


@pytest.fixture(scope="module")
def tpl() -> dict:
    return load_template()


def context(tpl, **values) -> Context:
    physical = {"OriginalsBucket": ORIGINALS, "ProcessedBucket": PROCESSED, "JobQueue": QUEUE_URL,
                "BackfillRole": f"{STACK}-BackfillRole-XYZ", "BackfillStateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-backfill"}
    arns = {("OriginalsBucket", "Arn"): f"arn:aws:s3:::{ORIGINALS}", ("ProcessedBucket", "Arn"): f"arn:aws:s3:::{PROCESSED}",
            ("JobQueue", "Arn"): QUEUE_ARN, ("BackfillRole", "Arn"): f"arn:aws:iam::{ACCOUNT}:role/{STACK}-BackfillRole-XYZ",
            ("BackfillLogGroup", "Arn"): f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/states/{STACK}-backfill:*"}
    params = {**parameter_defaults(tpl), "CodeBucket": "b", "CodeKey": "k", "Environment": "aws", **values}
    return Context(tpl, params, physical, {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::StackName": STACK},
                   lambda resource, attribute: arns[(resource, attribute)])


@pytest.fixture(scope="module")
def machine(tpl) -> dict:
    """The state machine's properties, resolved for a deploy on AWS."""
    return resolve(tpl["Resources"]["BackfillStateMachine"]["Properties"], context(tpl))


@pytest.fixture(scope="module")
def definition(machine) -> dict:
    """The definition as Step Functions receives it: DefinitionSubstitutions applied to every string."""
    substitutions = machine["DefinitionSubstitutions"]

    def substitute(value):
        if isinstance(value, dict):
            return {k: substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [substitute(v) for v in value]
        if isinstance(value, str):
            return re.sub(r"\$\{(\w+)\}", lambda m: str(substitutions[m.group(1)]), value)
        return value

    return substitute(machine["Definition"])


def evaluate(template_value: str, states: dict):
    """A JSONata field (``{% expression %}``) evaluated with ``$states`` bound, as Step Functions evaluates it."""
    match = re.fullmatch(r"\{%(.*)%\}", template_value.strip(), re.S)
    assert match, f"not a JSONata expression: {template_value!r}"
    expression = jsonata.Jsonata(match.group(1))
    expression.assign("states", states)
    return expression.evaluate(None)


def select(definition: dict, map_name: str, index: int, item: dict, state_input: dict) -> dict:
    """What the Map's ItemSelector makes of one item read by its ItemReader."""
    selector = definition["States"][map_name]["ItemSelector"]
    states = {"input": state_input, "context": {"Map": {"Item": {"Index": index, "Value": item}}}}
    return {name: evaluate(value, states) for name, value in selector.items()}


def parsed(entries: list[dict]) -> list[dict]:
    """Entries with their bodies parsed: JSON text equal in meaning (jsonata-python writes é as \\u00e9)."""
    return [{"Id": e["Id"], "MessageBody": json.loads(e["MessageBody"])} for e in entries]


def run_map(definition: dict, map_name: str, items: list[dict], state_input: dict) -> list[list[dict]]:
    """The Entries each child execution sends: items selected, batched by ItemBatcher, through SendBatch's Arguments."""
    state = definition["States"][map_name]
    selected = [select(definition, map_name, i, item, state_input) for i, item in enumerate(items)]
    size = state["ItemBatcher"]["MaxItemsPerBatch"]
    sent = []
    for start in range(0, len(selected), size):
        arguments = state["ItemProcessor"]["States"]["SendBatch"]["Arguments"]
        child = {"input": {"Items": selected[start:start + size]}}
        assert arguments["QueueUrl"] == QUEUE_URL
        sent.append(evaluate(arguments["Entries"], child))
    return sent


# --- the resource ---


def test_the_state_machine_exists_on_aws_only_with_its_role_and_logs(tpl, machine):
    local = context(tpl, Environment="local")
    for name in ("BackfillStateMachine", "BackfillRole", "BackfillLogGroup", "BackfillInventoryPolicy"):
        assert not resource_enabled(tpl, name, local), name
    assert machine["StateMachineType"] == "STANDARD"  # a Distributed Map's parent
    assert machine["StateMachineName"] == f"{STACK}-backfill"
    assert machine["RoleArn"].endswith(f":role/{STACK}-BackfillRole-XYZ")
    logging = machine["LoggingConfiguration"]
    assert logging["Level"] in ("ERROR", "ALL") and logging["IncludeExecutionData"] is False
    assert logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"].startswith(
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/states/")
    assert machine["DefinitionSubstitutions"] == {"OriginalsBucket": ORIGINALS, "ProcessedBucket": PROCESSED,
                                                  "JobQueueUrl": QUEUE_URL}


def test_input_chooses_listing_or_inventory(definition):
    choice = definition["States"][definition["StartAt"]]
    assert definition["QueryLanguage"] == "JSONata" and choice["Type"] == "Choice"
    [rule] = choice["Choices"]
    listed = execution_input("holiday/", {"pixel-size": "24"})
    inventory = execution_input(chosen={}, manifest="s3://inventory/pixelator/originals/cfg/2026-01-01T00-00Z/manifest.json")
    assert evaluate(rule["Condition"], {"input": inventory}) is True and rule["Next"] == "InventoryObjects"
    assert evaluate(rule["Condition"], {"input": listed}) is False and choice["Default"] == "ListedObjects"


def test_item_readers(definition):
    listed, inventory = (definition["States"][name] for name in MAPS)
    reader = listed["ItemReader"]
    assert reader["Resource"] == "arn:aws:states:::s3:listObjectsV2"
    assert reader["Arguments"]["Bucket"] == ORIGINALS  # the originals bucket only, whatever the input says
    assert evaluate(reader["Arguments"]["Prefix"], {"input": execution_input("holiday/", {})}) == "holiday/"
    reader = inventory["ItemReader"]
    assert reader["Resource"] == "arn:aws:states:::s3:getObject" and reader["ReaderConfig"] == {"InputType": "MANIFEST"}
    document = execution_input(chosen={}, manifest="s3://inventory/some/manifest.json")
    assert evaluate(reader["Arguments"]["Bucket"], {"input": document}) == "inventory"
    assert evaluate(reader["Arguments"]["Key"], {"input": document}) == "some/manifest.json"


@pytest.mark.parametrize("map_name", MAPS)
def test_batching_caps_and_the_child_workflow(definition, map_name):
    state = definition["States"][map_name]
    assert state["Type"] == "Map" and state["End"] is True
    assert state["ItemBatcher"] == {"MaxItemsPerBatch": BACKFILL_BATCH_SIZE} and BACKFILL_BATCH_SIZE == 10
    assert isinstance(state["MaxConcurrency"], int) and 1 <= state["MaxConcurrency"] <= 100
    assert 0 < state["ToleratedFailurePercentage"] <= 5
    assert state["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    # results over 256 KiB must go to S3: under a prefix of the processed bucket that CloudFront does not serve
    writer = state["ResultWriter"]
    assert writer["Resource"] == "arn:aws:states:::s3:putObject"
    assert writer["Arguments"] == {"Bucket": PROCESSED, "Prefix": "backfill-runs"}
    child = state["ItemProcessor"]
    send = child["States"][child["StartAt"]]
    assert send["Type"] == "Task" and send["Resource"] == "arn:aws:states:::aws-sdk:sqs:sendMessageBatch"
    assert send["Retry"][0]["ErrorEquals"] == ["States.ALL"] and send["Retry"][0]["MaxAttempts"] >= 3
    check = child["States"][send["Next"]]
    [rule] = check["Choices"]
    # SendMessageBatch answers 200 with a Failed list: a child with unsent entries must fail, to be counted
    assert evaluate(rule["Condition"], {"input": {"Successful": [{"Id": "0"}]}}) is False
    assert evaluate(rule["Condition"], {"input": {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False}]}}) is True
    assert child["States"][rule["Next"]]["Type"] == "Fail" and child["States"][check["Default"]]["Type"] == "Succeed"
    assert evaluate(child["States"][check["Default"]]["Output"], {"input": {"Successful": [{}] * 10}}) == 10


def test_both_maps_run_the_same_child_workflow(definition):
    listed, inventory = (definition["States"][name] for name in MAPS)
    for field in ("ItemBatcher", "MaxConcurrency", "ToleratedFailurePercentage", "ResultWriter", "ItemProcessor"):
        assert listed[field] == inventory[field], field


# --- the messages: the state machine's against the local sender's ---


@pytest.mark.parametrize("options", [{}, {"pixel-size": "24"}, {"pixel-size": "24", "method": "nearest", "faces": "true"}])
def test_a_listing_sends_exactly_what_the_local_sender_sends(definition, options):
    keys = KEYS + [f"bulk/{i:03d}.png" for i in range(17)]
    items = [{"Key": key, "Etag": '"abc"', "Size": 100, "LastModified": 1767225600, "StorageClass": "STANDARD"}
             for key in keys]
    state_machine = run_map(definition, "ListedObjects", items, execution_input("", options))
    local = list(backfill_batches(ORIGINALS, keys, options))
    assert [parsed(batch) for batch in state_machine] == [parsed(batch) for batch in local]
    assert [len(batch) for batch in state_machine] == [10, 10, 3]
    for batch in state_machine:
        for entry in batch:
            [job] = jobs_from_message(entry["MessageBody"])
            assert job.bucket == ORIGINALS and job.overrides == options


@pytest.mark.parametrize("key", KEYS + ["a+b c%2B/ü 100%.png"])
def test_inventory_keys_are_decoded_to_the_stored_key(definition, key):
    """S3 Inventory CSV keys are URL-encoded (quote_plus): the message must carry the key as stored."""
    item = {"Bucket": ORIGINALS, "Key": quote_plus(key, safe="/"), "Size": "100", "LastModifiedDate": "2026-01-01T00:00:00.000Z"}
    [batch] = run_map(definition, "InventoryObjects", [item], {"manifest": {"bucket": "i", "key": "m"}, "options": {}})
    assert parsed(batch) == parsed(next(iter(backfill_batches(ORIGINALS, [key], {}))))


def test_message_bodies_are_compact_json(definition):
    entry = select(definition, "ListedObjects", 3, {"Key": "k.png"}, execution_input("", {"method": "nearest"}))
    assert entry["Id"] == "3" and ": " not in entry["MessageBody"] and ", " not in entry["MessageBody"]


# --- the role ---


def statements(tpl, ctx) -> dict[str, dict]:
    role = resolve(tpl["Resources"]["BackfillRole"]["Properties"], ctx)
    [policy] = role["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}, role


def test_the_role_may_list_the_originals_and_send_to_the_queue_and_nothing_more(tpl, machine):
    by_sid, role = statements(tpl, context(tpl))
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert all(s["Effect"] == "Allow" for s in by_sid.values())
    assert by_sid["ListOriginals"]["Action"] == "s3:ListBucket"
    assert by_sid["ListOriginals"]["Resource"] == f"arn:aws:s3:::{ORIGINALS}"
    assert by_sid["SendToJobQueue"]["Action"] == "sqs:SendMessage" and by_sid["SendToJobQueue"]["Resource"] == QUEUE_ARN
    # the map run's report, under the prefix its ResultWriter names, and nowhere else
    assert by_sid["WriteRunReport"]["Resource"] == f"arn:aws:s3:::{PROCESSED}/backfill-runs/*"
    # its own child executions only
    own = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine['StateMachineName']}"
    assert by_sid["RunBatchesAsChildWorkflows"] == {"Sid": "RunBatchesAsChildWorkflows", "Effect": "Allow",
                                                   "Action": "states:StartExecution", "Resource": own}
    assert by_sid["FollowChildWorkflows"]["Resource"] == f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine['StateMachineName']}/*"
    # log delivery is the one wildcard resource, and only its own actions
    wildcard = [s for s in by_sid.values() if s["Resource"] == "*"]
    assert [s["Sid"] for s in wildcard] == ["DeliverLogs"]
    assert set(wildcard[0]["Action"]) == {
        "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}
    actions = {a for s in by_sid.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not {a for a in actions if a.startswith(("s3:Delete", "sqs:Receive", "sqs:Delete", "lambda:", "iam:"))}
    assert set(by_sid) == {"ListOriginals", "SendToJobQueue", "WriteRunReport", "RunBatchesAsChildWorkflows",
                           "FollowChildWorkflows", "DeliverLogs"}


def test_inventory_reports_are_readable_only_when_their_bucket_is_named(tpl):
    assert not context(tpl).condition("HasInventoryBucket")
    ctx = context(tpl, InventoryBucket="my-inventory")
    assert ctx.condition("HasInventoryBucket") and not context(tpl, Environment="local", InventoryBucket="x").condition("HasInventoryBucket")
    policy = resolve(tpl["Resources"]["BackfillInventoryPolicy"]["Properties"], ctx)
    assert policy["PolicyDocument"]["Statement"] == [{"Sid": "ReadInventoryManifestsAndReports", "Effect": "Allow",
                                                      "Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-inventory/*"}]


def test_the_run_report_prefix_is_not_served_by_cloudfront(tpl):
    behaviours = tpl["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"]
    assert not any(b["PathPattern"].startswith("backfill-runs") for b in behaviours)


def test_the_output_names_the_state_machine(tpl):
    output = tpl["Outputs"]["BackfillStateMachineArn"]
    assert output["Condition"] == "IsAws" and output["Value"] == {"Ref": "BackfillStateMachine"}
