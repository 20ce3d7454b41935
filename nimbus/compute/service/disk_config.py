"""`OS-DCF:diskConfig`: AUTO (the guest's root partition grows to the flavor's disk) or MANUAL.

Nova keeps the choice on the instance; an image can refuse AUTO with its `auto_disk_config`
property set to `Disabled`, and a request that says nothing follows that property.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nimbus.core import errors

# The instance's system_metadata keeps the choice (image properties sit there as image_*).
KEY = "auto_disk_config"
_TRUE = {"1", "t", "true", "on", "y", "yes"}


def choose(requested: str | None, image_id: str, image_setting: object) -> bool:
    """Whether a server uses AUTO, given the request and the image's `auto_disk_config`."""
    if requested is None:
        return str(image_setting).strip().lower() in _TRUE
    if requested == "AUTO" and str(image_setting) == "Disabled":
        raise errors.BadRequest(f"Requested image {image_id} has automatic disk resize disabled.")
    return requested == "AUTO"


def with_choice(system_metadata: Mapping[str, Any], auto: bool) -> dict[str, Any]:
    return {**system_metadata, KEY: auto}


def api_value(system_metadata: Mapping[str, Any]) -> str:
    return "AUTO" if system_metadata.get(KEY) is True else "MANUAL"
