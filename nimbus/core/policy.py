"""Role-based access rules: defaults in code, an optional override file.

Rules use oslo.policy's small language, so operators can reuse what they know:

    "role:admin or (role:reader and project_id:%(project_id)s)"
    "rule:admin_required"    "@" (always)    "!" (never)    "not role:member"

`%(name)s` reads the target (dotted names reach into nested dicts). The override file is
TOML or JSON mapping rule names to expressions; a rule it names replaces the default.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nimbus.core import errors
from nimbus.core.context import RequestContext

# A check may hold "%(name)s", whose parentheses are not grouping.
_TOKEN_RE = re.compile(r"\s*((?:%\([^)]*\)|[^\s()])+|\(|\))")


class PolicyError(errors.NimbusError):
    template = "Invalid policy rule {rule!r}: {reason}"


class PolicyNotAuthorized(errors.Forbidden):
    template = "You are not authorized to perform the requested action: {rule}."


def _credentials(ctx: RequestContext) -> dict[str, Any]:
    return {"roles": set(ctx.roles), "user_id": ctx.user_id, "project_id": ctx.project_id,
            "domain_id": ctx.domain_id, "system_scope": ctx.system_scope,
            "user_domain_id": ctx.user_domain_id, "project_domain_id": ctx.project_domain_id,
            "is_admin": ctx.is_admin}


def _lookup(target: Mapping[str, Any], dotted: str) -> Any:
    if dotted in target:
        return target[dotted]
    value: Any = target
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class _Parser:
    """Recursive descent over: expr := term ('or' term)*; term := factor ('and' factor)*;
    factor := 'not' factor | '(' expr ')' | check."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _TOKEN_RE.findall(text)
        self.pos = 0

    def parse(self) -> Any:
        if not self.tokens:
            return ("true",)
        node = self._expr()
        if self.pos != len(self.tokens):
            raise PolicyError(rule=self.text, reason="unexpected trailing tokens")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> str:
        token = self._peek()
        if token is None:
            raise PolicyError(rule=self.text, reason="unexpected end")
        self.pos += 1
        return token

    def _expr(self) -> Any:
        node = self._term()
        while self._peek() == "or":
            self._next()
            node = ("or", node, self._term())
        return node

    def _term(self) -> Any:
        node = self._factor()
        while self._peek() == "and":
            self._next()
            node = ("and", node, self._factor())
        return node

    def _factor(self) -> Any:
        token = self._next()
        if token == "not":
            return ("not", self._factor())
        if token == "(":
            node = self._expr()
            if self._next() != ")":
                raise PolicyError(rule=self.text, reason="missing ')'")
            return node
        if token == "@":
            return ("true",)
        if token == "!":
            return ("false",)
        kind, sep, match = token.partition(":")
        if not sep:
            raise PolicyError(rule=self.text, reason=f"bad check {token!r}")
        return ("check", kind, match)


class Enforcer:
    def __init__(self, defaults: Mapping[str, str], override_file: Path | None = None) -> None:
        rules = dict(defaults)
        if override_file is not None and override_file.exists():
            rules.update(_load_overrides(override_file))
        self.rules = {name: _Parser(text).parse() for name, text in rules.items()}

    def allowed(self, rule: str, ctx: RequestContext,
                target: Mapping[str, Any] | None = None) -> bool:
        if rule not in self.rules:
            raise PolicyError(rule=rule, reason="no such rule")
        return self._eval(self.rules[rule], _credentials(ctx), target or {}, depth=0)

    def authorize(self, rule: str, ctx: RequestContext,
                  target: Mapping[str, Any] | None = None) -> None:
        """Raise PolicyNotAuthorized (403) unless `rule` allows `ctx` on `target`."""
        if not self.allowed(rule, ctx, target):
            raise PolicyNotAuthorized(rule=rule)

    def _eval(self, node: Any, creds: dict[str, Any], target: Mapping[str, Any],
              depth: int) -> bool:
        if depth > 20:
            raise PolicyError(rule=str(node), reason="rule references nest too deep")
        op = node[0]
        if op == "true":
            return True
        if op == "false":
            return False
        if op == "not":
            return not self._eval(node[1], creds, target, depth)
        if op in ("and", "or"):
            left = self._eval(node[1], creds, target, depth)
            if op == "and" and not left:
                return False
            if op == "or" and left:
                return True
            return self._eval(node[2], creds, target, depth)
        _, kind, match = node
        if kind == "rule":
            return match in self.rules and self._eval(self.rules[match], creds, target,
                                                      depth + 1)
        if kind == "role":
            return match.lower() in {r.lower() for r in creds["roles"]}
        expected = _substitute(match, target)
        # A check names a credential ("project_id:...") or, failing that, a target field.
        actual = creds[kind] if kind in creds else _lookup(target, kind)
        return actual is not None and str(actual) == expected


def _substitute(match: str, target: Mapping[str, Any]) -> str:
    found = re.fullmatch(r"%\(([^)]+)\)s", match)
    if not found:
        return match
    value = _lookup(target, found.group(1))
    # A missing target value must never equal a credential, so use a sentinel.
    return "\x00missing" if value is None else str(value)


def _load_overrides(path: Path) -> dict[str, str]:
    text = path.read_bytes()
    data = tomllib.loads(text.decode()) if path.suffix == ".toml" else json.loads(text)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise PolicyError(rule=str(path), reason="expected a mapping of rule name to expression")
    return data
