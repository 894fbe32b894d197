"""Reading ``cloudformation.yaml``: load it with CloudFormation's short tags, and read facts from it.

    >>> from pixelate.deploy.template import load_template, template_path
    >>> tpl = load_template()
    >>> tpl["Resources"]["PixelateFunction"]["Properties"]["Handler"]
    'pixelate.service.handler.lambda_handler'

Short tags (``!Ref``, ``!GetAtt``, ``!Sub`` …) are turned into their long forms (``{"Ref": …}``,
``{"Fn::GetAtt": [resource, attribute]}`` …), the shape the resolver below and the emulation read.

:func:`resolve` evaluates the intrinsic functions of a piece of the template against what a deployed stack
knows (parameter values, physical ids, attributes): the emulation of what moto's CloudFormation ignores uses
it to turn the template's bucket and queue settings into S3/SQS API calls.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

class TemplateError(ValueError):
    """The template, or a value in it, cannot be read or resolved."""


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that knows CloudFormation's short tags (and nothing else beyond SafeLoader)."""


def _construct_short_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = tag_suffix
    key = "Ref" if name == "Ref" else "Condition" if name == "Condition" else f"Fn::{name}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "GetAtt":  # !GetAtt Resource.Attribute.Maybe.Dotted
            resource, _, attribute = str(value).partition(".")
            value = [resource, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


_CfnLoader.add_multi_constructor("!", _construct_short_tag)


def template_path() -> Path:
    """The template next to the package (``pixelate/cloudformation.yaml`` links to the top-level file)."""
    return Path(__file__).resolve().parent.parent / "cloudformation.yaml"


def template_text(path: str | Path | None = None) -> str:
    return Path(path or template_path()).read_text(encoding="utf-8")


def parse_template(text: str) -> dict:
    """Parse template text (YAML with short tags, or JSON) into plain dicts and lists."""
    document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader with CFN tags only
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError("not a CloudFormation template: no Resources")
    return document


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> dict:
    return parse_template(Path(path).read_text(encoding="utf-8"))


def load_template(path: str | Path | None = None) -> dict:
    """The parsed template (cached per file and modification time; treat it as read-only)."""
    p = Path(path or template_path()).resolve()
    return _load_cached(str(p), p.stat().st_mtime)


# ------------------------------------------------------------------ facts read from the template

def parameter_defaults(template: Mapping) -> dict[str, str]:
    """Each parameter's default, as the string CloudFormation would pass (parameters without one are left out)."""
    return {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }


def required_parameters(template: Mapping) -> list[str]:
    """Parameters without a default: the deploy code must supply them (the code location)."""
    return [name for name, spec in template.get("Parameters", {}).items() if "Default" not in spec]


def resources_of_type(template: Mapping, resource_type: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r.get("Type") == resource_type}


def function_handlers(template: Mapping) -> dict[str, str]:
    """Logical id of each Lambda function -> its handler (``module.function``)."""
    return {
        name: r["Properties"]["Handler"]
        for name, r in resources_of_type(template, "AWS::Lambda::Function").items()
    }


# ------------------------------------------------------------------ conditions and intrinsic functions

class Context:
    """What a deployed stack knows, for :func:`resolve`.

    ``parameters``: every parameter's value (defaults included); ``physical_ids``: logical id -> physical id
    (what ``Ref`` of a resource gives); ``pseudo``: ``AWS::Region``, ``AWS::AccountId`` …;
    ``get_att``: (logical id, attribute) -> value, for attributes that need an API call.
    """

    def __init__(
        self,
        template: Mapping,
        parameters: Mapping[str, str],
        physical_ids: Mapping[str, str] | None = None,
        pseudo: Mapping[str, str] | None = None,
        get_att: Callable[[str, str], Any] | None = None,
    ) -> None:
        self.template = template
        self.parameters = dict(parameters)
        self.physical_ids = dict(physical_ids or {})
        self.pseudo = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", **(pseudo or {})}
        self._get_att = get_att
        self._conditions: dict[str, bool] = {}

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        raise TemplateError(f"cannot resolve Ref {name}")

    def get_att(self, resource: str, attribute: str) -> Any:
        if self._get_att is None:
            raise TemplateError(f"cannot resolve GetAtt {resource}.{attribute}")
        return self._get_att(resource, attribute)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            expression = self.template.get("Conditions", {}).get(name)
            if expression is None:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(resolve(expression, self))
        return self._conditions[name]


_NO_VALUE = object()


def resolve(value: Any, ctx: Context) -> Any:
    """Evaluate the intrinsic functions in ``value`` (``AWS::NoValue`` drops the key or list item)."""
    result = _resolve(value, ctx)
    return None if result is _NO_VALUE else result


def _resolve(value: Any, ctx: Context) -> Any:
    if isinstance(value, list):
        return [item for item in (_resolve(v, ctx) for v in value) if item is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        function = _FUNCTIONS.get(key)
        if function is not None:
            return function(arg, ctx)
    out = {}
    for k, v in value.items():
        resolved = _resolve(v, ctx)
        if resolved is not _NO_VALUE:
            out[k] = resolved
    return out


def _ref(arg: str, ctx: Context) -> Any:
    return _NO_VALUE if arg == "AWS::NoValue" else ctx.ref(arg)


def _get_att(arg: list, ctx: Context) -> Any:
    resource, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
    return ctx.get_att(resource, attribute)


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def _sub(arg: Any, ctx: Context) -> str:
    text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
    values = {k: _resolve(v, ctx) for k, v in variables.items()}

    def replace(match: re.Match) -> str:
        name = match.group(1).strip()
        if name in values:
            return str(values[name])
        if "." in name and name.split(".", 1)[0] not in ctx.parameters:
            return str(ctx.get_att(*name.split(".", 1)))
        return str(ctx.ref(name))

    return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


def _if(arg: list, ctx: Context) -> Any:
    name, when_true, when_false = arg
    return _resolve(when_true if ctx.condition(name) else when_false, ctx)


def _join(arg: list, ctx: Context) -> str:
    separator, items = arg
    return str(separator).join(str(i) for i in _resolve(items, ctx))


def _select(arg: list, ctx: Context) -> Any:
    index, items = arg
    return _resolve(items, ctx)[int(_resolve(index, ctx))]


def _split(arg: list, ctx: Context) -> list[str]:
    separator, text = arg
    return str(_resolve(text, ctx)).split(separator)


def _equals(arg: list, ctx: Context) -> bool:
    left, right = (_resolve(a, ctx) for a in arg)
    return str(left) == str(right)


_FUNCTIONS: dict[str, Callable[[Any, Context], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::If": _if,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::Equals": _equals,
    "Fn::Not": lambda arg, ctx: not _resolve(arg[0], ctx),
    "Fn::And": lambda arg, ctx: all(_resolve(a, ctx) for a in arg),
    "Fn::Or": lambda arg, ctx: any(_resolve(a, ctx) for a in arg),
    "Condition": lambda arg, ctx: ctx.condition(arg),
}


def resource_enabled(template: Mapping, logical_id: str, ctx: Context) -> bool:
    """Whether a resource exists for these parameters (its ``Condition``, if any, holds)."""
    condition = template["Resources"][logical_id].get("Condition")
    return True if condition is None else ctx.condition(condition)
