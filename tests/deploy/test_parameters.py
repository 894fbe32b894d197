"""Template parameters as the deploy functions pass them (pure functions)."""
from __future__ import annotations

import pytest

from pixelate.deploy.stack import (
    DeployError,
    check_parameters,
    code_key,
    effective_parameters,
    is_no_change,
    keep_previous_values,
    outputs_of,
    stack_parameters,
)
from pixelate.deploy.template import load_template

TPL = load_template()


def test_values_become_strings_as_cloudformation_wants():
    assert stack_parameters(TPL, {"DeleteOriginals": True, "DefaultPixelSize": 32}) == [
        {"ParameterKey": "DeleteOriginals", "ParameterValue": "true"},
        {"ParameterKey": "DefaultPixelSize", "ParameterValue": "32"},
    ]
    assert effective_parameters(TPL, {"DefaultPixelSize": 32})["DefaultPixelSize"] == "32"
    assert effective_parameters(TPL, {})["Architecture"] == "arm64"
    with pytest.raises(DeployError):
        stack_parameters(TPL, {"Nope": 1})


def test_an_update_keeps_what_it_does_not_set():
    previous = {"Parameters": [
        {"ParameterKey": "NotificationEmail", "ParameterValue": "me@example.com"},
        {"ParameterKey": "DefaultPixelSize", "ParameterValue": "16"},   # the default: nothing to say
        {"ParameterKey": "MemorySize", "ParameterValue": "4096"},        # given again below: the new value wins
        {"ParameterKey": "Removed", "ParameterValue": "x"},              # no longer in the template
    ]}
    given = stack_parameters(TPL, {"MemorySize": 1024})
    assert keep_previous_values(TPL, given, previous) == given + [
        {"ParameterKey": "NotificationEmail", "ParameterValue": "me@example.com"}]
    assert keep_previous_values(TPL, given, None) == given


def test_code_key_follows_the_content(tmp_path):
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    a.write_bytes(b"one"), b.write_bytes(b"two")
    assert code_key(a) != code_key(b) and code_key(a) == code_key(a)
    assert code_key(a).startswith("lambda/pixelate-") and code_key(a).endswith(".zip")


def test_outputs_and_no_change_messages():
    assert outputs_of({"Outputs": [{"OutputKey": "A", "OutputValue": "1"}]}) == {"A": "1"}
    assert outputs_of({}) == {}
    assert is_no_change("The submitted information didn't contain changes. Submit different information")
    assert is_no_change("No updates are to be performed.")
    assert not is_no_change("Template error")


def test_values_aws_would_refuse_halfway_are_refused_before_anything_is_sent():
    check_parameters("pixelator", effective_parameters(TPL, {}))  # the defaults deploy
    with pytest.raises(DeployError, match="QueueVisibilityTimeout"):  # the SQS event source would be refused
        check_parameters("pixelator", effective_parameters(TPL, {"FunctionTimeout": 600}))
    check_parameters("pixelator", effective_parameters(TPL, {"FunctionTimeout": 600, "QueueVisibilityTimeout": 3600}))
    for name in ("Pixelator", "a-stack-name-long-enough-to-break-buckets"):  # S3: lowercase, 63 characters
        with pytest.raises(DeployError, match="bucket names"):
            check_parameters(name, effective_parameters(TPL, {}), "123456789012", "ap-southeast-3")
