"""The names Placement knows without being told: standard resource classes and traits.

Both lists come from the OpenStack libraries that define them (os-resource-classes,
os-traits), so a trait Nova reports means the same here. Custom names start with CUSTOM_.
"""

from __future__ import annotations

import re

import os_resource_classes
import os_traits

CUSTOM_PREFIX = "CUSTOM_"
# The largest value Placement stores in an integer column, and in allocation_ratio.
MAX_INT = 2**31 - 1
MAX_FLOAT = 3.40282e38
# Who owns allocations written before project and user were required (microversion < 1.8).
INCOMPLETE_CONSUMER_ID = "00000000-0000-0000-0000-000000000000"

NAME_RE = re.compile(r"^[A-Z0-9_]+$")
CUSTOM_NAME_RE = re.compile(r"^CUSTOM_[A-Z0-9_]+$")

RESOURCE_CLASSES: tuple[str, ...] = tuple(os_resource_classes.STANDARDS)
TRAITS: tuple[str, ...] = tuple(sorted(os_traits.get_traits()))
_RESOURCE_CLASS_SET = frozenset(RESOURCE_CLASSES)
_TRAIT_SET = frozenset(TRAITS)

SHARES_VIA_AGGREGATE = "MISC_SHARES_VIA_AGGREGATE"


def is_standard_resource_class(name: str) -> bool:
    return name in _RESOURCE_CLASS_SET


def is_standard_trait(name: str) -> bool:
    return name in _TRAIT_SET


def is_custom_name(name: str) -> bool:
    return len(name) <= 255 and CUSTOM_NAME_RE.match(name) is not None
