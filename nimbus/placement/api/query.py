"""Query-string grammar shared by GET /resource_providers and GET /allocation_candidates:
`resources=VCPU:2,MEMORY_MB:512`, `required=A,!B` or `required=in:A,B`,
`member_of=<agg>`, `member_of=in:<a>,<b>`, `member_of=!<agg>` or `!in:...`, `in_tree=<uuid>`.
Parsing only: it says what is asked, the service layer decides what matches."""

from __future__ import annotations

import re
import uuid as uuidlib

from fastapi import Request

from nimbus.placement import errors
from nimbus.placement.service.candidates import CandidateQuery, RequestGroup

_KEY = re.compile(r"^(resources|required|member_of|in_tree)(.*)$")
_NUMBER_SUFFIX = re.compile(r"^[1-9][0-9]*$")
_NAMED_SUFFIX = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def resources(value: str) -> tuple[tuple[str, int], ...]:
    if not value.strip():
        raise errors.InvalidInput(detail="Badly formed resources parameter. Expected resources "
                                         "query string parameter in form: ?resources=VCPU:2,"
                                         "MEMORY_MB:1024. Got: empty string.")
    found: dict[str, int] = {}
    for item in value.split(","):
        name, sep, amount = item.partition(":")
        if not sep or ":" in amount:
            raise errors.InvalidInput(detail="Badly formed resources parameter. Expected "
                                             "resources query string parameter in form: "
                                             f"?resources=VCPU:2,MEMORY_MB:1024. Got: {item}.")
        try:
            number = int(amount)
        except ValueError:
            raise errors.InvalidInput(detail=f"Requested resource {name} expected positive "
                                             f"integer amount. Got: {amount}.") from None
        if number < 1:
            raise errors.InvalidInput(detail=f"Requested resource {name} requires amount >= 1. "
                                             f"Got: {number}.")
        found[name] = number
    return tuple(found.items())


def traits(values: list[str], version: tuple[int, int]) -> tuple[tuple[frozenset[str], ...], frozenset[str]]:
    """(required any-of sets, forbidden). `!` from 1.22; `in:` and repetition from 1.39
    (before, only the last value counts, as in Placement)."""
    allow_forbidden, allow_any = version >= (1, 22), version >= (1, 39)
    if not allow_any:
        values = values[-1:]
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        if value.startswith("in:"):
            if not allow_any:
                raise errors.InvalidInput(
                    detail="Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,"
                           f"CUSTOM_MAGIC' only supported since microversion 1.39. Got: {value}")
            names = {n.strip() for n in value[3:].split(",")}
            if not all(names):
                raise errors.InvalidInput(detail="Invalid query string parameters: Expected "
                                                 "'required' parameter value of the form: in:"
                                                 f"HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty "
                                                 f"trait in: {value}")
            if any(n.startswith("!") for n in names):
                raise errors.InvalidInput(detail="Invalid query string parameters: The format "
                                                 "'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not "
                                                 f"support forbidden traits. Got: {value}")
            required.append(frozenset(names))
            continue
        names_list = [n.strip() for n in value.split(",")]
        bad = [n for n in names_list if not n.lstrip("!")]
        negative = [n.lstrip("!") for n in names_list if n.startswith("!")]
        if bad or (negative and not allow_forbidden):
            form = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allow_forbidden else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
            raise errors.InvalidInput(detail="Invalid query string parameters: Expected "
                                             f"'required' parameter value of the form: {form}. "
                                             f"Got: {value}")
        forbidden |= set(negative)
        required += [frozenset({n}) for n in names_list if not n.startswith("!")]
    return tuple(required), frozenset(forbidden)


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuidlib.UUID(value.strip()))
    except ValueError:
        raise errors.InvalidInput(detail=f"Invalid query string parameters: Expected '{what}' "
                                         f"parameter to contain valid UUID(s). Got: {value}") from None


def member_of(values: list[str], version: tuple[int, int],
              key: str = "member_of") -> tuple[tuple[frozenset[str], ...], frozenset[str]]:
    """(required any-of sets, forbidden). Repetition from 1.24, `!` from 1.32."""
    if version < (1, 24) and len(values) > 1:
        raise errors.InvalidInput(detail=f"Multiple {key} parameters are not supported")
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        if "," in value and not value.startswith(("in:", "!in:")):
            raise errors.InvalidInput(detail="Multiple values for 'member_of' must be prefixed "
                                             "with the 'in:' or '!in:' keyword using the valid "
                                             f"microversion. Got: {value}")
        negative = value.startswith("!")
        body = value[1:] if negative else value
        names = body[3:].split(",") if body.startswith("in:") else [body]
        uuids = frozenset(_uuid(n, "member_of") for n in names)
        if negative:
            if version < (1, 32):
                raise errors.InvalidInput(detail=f"Forbidden {key} parameters are not supported "
                                                 "in the specified microversion")
            forbidden |= uuids
        else:
            required.append(uuids)
    return tuple(required), frozenset(forbidden)


def in_tree(value: str) -> str:
    try:
        return str(uuidlib.UUID(value.strip()))
    except ValueError:
        raise errors.InvalidInput(detail="Invalid query string parameters: Expected 'in_tree' "
                                         f"parameter to be a format of uuid. Got: {value}") from None


# --- GET /allocation_candidates ------------------------------------------------------------

def _candidate_keys(version: tuple[int, int]) -> set[str]:
    keys = {"resources"}
    for since, names in (((1, 16), {"limit"}), ((1, 17), {"required"}), ((1, 21), {"member_of"}),
                         ((1, 25), {"group_policy"}), ((1, 31), {"in_tree"}),
                         ((1, 35), {"root_required"}), ((1, 36), {"same_subtree"})):
        if version >= since:
            keys |= names
    return keys


def _split_key(key: str, version: tuple[int, int]) -> tuple[str, str] | None:
    """(prefix, suffix) of a group key; None if the key is not a group key at this version."""
    match = _KEY.match(key)
    if not match:
        return None
    prefix, suffix = match.groups()
    if not suffix:
        return prefix, ""
    if version < (1, 25):
        return None
    pattern = _NAMED_SUFFIX if version >= (1, 33) else _NUMBER_SUFFIX
    return (prefix, suffix) if pattern.match(suffix) else None


def candidate_query(request: Request, version: tuple[int, int]) -> CandidateQuery:
    params = request.query_params
    plain = _candidate_keys(version)
    grouped: dict[str, dict[str, list[str]]] = {}
    for key in params:
        split = _split_key(key, version)
        if split is not None and split[0] in plain:
            prefix, suffix = split
            grouped.setdefault(suffix, {})[prefix] = params.getlist(key)
        elif key not in plain:
            raise errors.InvalidInput(detail="Invalid query string parameters: Additional "
                                             f"properties are not allowed ('{key}' was unexpected)")
    if version < (1, 25) and "resources" not in params:
        raise errors.InvalidInput(detail="Invalid query string parameters: 'resources' is a "
                                         "required property")
    groups = tuple(_group(suffix, found, version) for suffix, found in grouped.items())
    same_subtrees = tuple(_same_subtree(v) for v in params.getlist("same_subtree"))
    _check_groups(groups, same_subtrees, version)
    root_required, root_forbidden = _root_required(params.getlist("root_required"))
    policy = params.get("group_policy")
    if policy is not None and policy not in ("none", "isolate"):
        raise errors.InvalidInput(detail="Invalid query string parameters: "
                                         f"'{policy}' is not one of ['none', 'isolate']")
    if policy is None and sum(1 for g in groups if g.suffix) > 1:
        raise errors.InvalidInput(detail='The "group_policy" parameter is required when '
                                         'specifying more than one "resources{N}" parameter.')
    return CandidateQuery(
        groups=groups, group_policy=policy, limit=_limit(params.get("limit")),
        root_required=root_required, root_forbidden=root_forbidden, same_subtrees=same_subtrees,
        nested_aware=version >= (1, 29), all_resources_in_summaries=version >= (1, 27))


def _group(suffix: str, found: dict[str, list[str]], version: tuple[int, int]) -> RequestGroup:
    required, forbidden = traits(found.get("required", []), version)
    aggs, no_aggs = member_of(found.get("member_of", []), version, f"member_of{suffix}")
    return RequestGroup(
        suffix=suffix,
        resources=resources(found["resources"][-1]) if "resources" in found else (),
        required=required, forbidden=forbidden, member_of=aggs, forbidden_aggregates=no_aggs,
        in_tree=in_tree(found["in_tree"][-1]) if "in_tree" in found else None)


def _check_groups(groups: tuple[RequestGroup, ...], same_subtrees: tuple[frozenset[str], ...],
                  version: tuple[int, int]) -> None:
    resourceless = [g.suffix for g in groups if not g.resources]
    if version >= (1, 36):
        if len(resourceless) == len(groups):
            raise errors.MissingQueryValue(detail="There must be at least one resources or "
                                                  "resources[$S] parameter.")
        in_subtrees = set().union(*same_subtrees) if same_subtrees else set()
        bad = [s for s in resourceless if s not in in_subtrees]
        if bad:
            raise errors.BadQueryValue(detail="Resourceless suffixed group request should be "
                                              "specified in `same_subtree` query param: bad "
                                              f"group(s) - {bad}.")
        unknown = sorted(in_subtrees - {g.suffix for g in groups})
        if unknown:
            raise errors.BadQueryValue(detail="Real suffixes should be specified in "
                                              f"`same_subtree`: {unknown} not found in "
                                              f"{[g.suffix for g in groups]}.")
    else:
        orphans = [f"required{g.suffix}" for g in groups
                   if not g.resources and (g.required or g.forbidden)]
        orphans += [f"member_of{g.suffix}" for g in groups
                    if not g.resources and (g.member_of or g.forbidden_aggregates)]
        if orphans:
            raise errors.InvalidInput(detail="All traits and member_of parameters must be "
                                             "associated with resources. Found the following "
                                             f"orphaned keys: {', '.join(orphans)}")
        if not groups or resourceless:
            raise errors.InvalidInput(detail="All request groups must specify resources.")
    if version >= (1, 22):
        conflicts = sorted(f"required{g.suffix}: ({', '.join(sorted(any_of))})"
                           for g in groups for any_of in g.required if any_of <= g.forbidden)
        if conflicts:
            raise errors.InvalidInput(detail="Conflicting required and forbidden traits found "
                                             f"in the following traits keys: {', '.join(conflicts)}")


def _same_subtree(value: str) -> frozenset[str]:
    suffixes = frozenset(s.strip() for s in value.split(","))
    if "" in suffixes:
        raise errors.BadQueryValue(detail="Empty string (unsuffixed group) can not be specified "
                                          "in `same_subtree` ")
    return suffixes


def _root_required(values: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    if not values:
        return frozenset(), frozenset()
    if len(values) > 1:
        raise errors.DuplicateQueryKey(key="root_required")
    names = [n.strip() for n in values[0].split(",")]
    if not all(n.lstrip("!") for n in names) or values[0].startswith("in:"):
        raise errors.InvalidInput(detail="Invalid query string parameters: Expected "
                                         "'root_required' parameter value of the form: "
                                         f"HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got: {values[0]}")
    required = frozenset(n for n in names if not n.startswith("!"))
    forbidden = frozenset(n.lstrip("!") for n in names if n.startswith("!"))
    if required & forbidden:
        raise errors.BadQueryValue(detail="Conflicting required and forbidden traits found in "
                                          f"root_required: {', '.join(sorted(required & forbidden))}")
    return required, forbidden


def _limit(value: str | None) -> int | None:
    if value is None:
        return None
    if not re.fullmatch(r"[1-9][0-9]*", value):
        raise errors.InvalidInput(detail=f"Invalid query string parameters: '{value}' does not "
                                         "match '^[1-9][0-9]*$'")
    return int(value)
