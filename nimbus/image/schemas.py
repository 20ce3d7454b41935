"""Glance's JSON schemas, served at `/v2/schemas/*` and used to validate image bodies.

Image bodies are permissive (any extra property whose value is a string), and the same schema
is published to clients, so it is kept as data here and checked by `validate`, a small
validator for the subset of JSON Schema these documents use (type, enum, maxLength, pattern,
minimum, array items). Fixed-shape bodies (members, import) are pydantic models.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from nimbus.image.domain import CONTAINER_FORMATS, DISK_FORMATS, MEMBER_STATUSES, STATUSES

_UUID = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
         "-([0-9a-fA-F]){12}$")


def _prop(type_: str | list[str], description: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "description": description, **extra}


IMAGE_PROPERTIES: dict[str, dict[str, Any]] = {
    "id": _prop("string", "An identifier for the image", pattern=_UUID),
    "name": _prop(["null", "string"], "Descriptive name for the image", maxLength=255),
    "status": _prop("string", "Status of the image", readOnly=True, enum=list(STATUSES)),
    "visibility": _prop("string", "Scope of image accessibility",
                        enum=["community", "public", "private", "shared"]),
    "protected": _prop("boolean", "If true, image will not be deletable."),
    "os_hidden": _prop("boolean",
                       "If true, image will not appear in default image list response."),
    "checksum": _prop(["null", "string"], "md5 hash of image contents.", readOnly=True,
                      maxLength=32),
    "os_hash_algo": _prop(["null", "string"], "Algorithm to calculate the os_hash_value",
                          readOnly=True, maxLength=64),
    "os_hash_value": _prop(["null", "string"], "Hexdigest of the image contents using the "
                           "algorithm specified by the os_hash_algo", readOnly=True,
                           maxLength=128),
    "owner": _prop(["null", "string"], "Owner of the image", maxLength=255),
    "size": _prop(["null", "integer"], "Size of image file in bytes", readOnly=True),
    "virtual_size": _prop(["null", "integer"], "Virtual size of image in bytes", readOnly=True),
    "container_format": _prop(["null", "string"], "Format of the container",
                              enum=[None, *CONTAINER_FORMATS]),
    "disk_format": _prop(["null", "string"], "Format of the disk", enum=[None, *DISK_FORMATS]),
    "created_at": _prop("string", "Date and time of image registration", readOnly=True),
    "updated_at": _prop("string", "Date and time of the last image modification",
                        readOnly=True),
    "tags": _prop("array", "List of strings related to the image",
                  items={"type": "string", "maxLength": 255}),
    "direct_url": _prop("string", "URL to access the image file kept in external store",
                        readOnly=True),
    "min_ram": _prop("integer", "Amount of ram (in MB) required to boot image.", minimum=0),
    "min_disk": _prop("integer", "Amount of disk space (in GB) required to boot image.",
                      minimum=0),
    "self": _prop("string", "An image self url", readOnly=True),
    "file": _prop("string", "An image file url", readOnly=True),
    "stores": _prop("string", "Store in which image data resides.  Only present when the "
                    "operator has enabled multiple stores.  May be a comma-separated list of "
                    "store identifiers.", readOnly=True),
    "schema": _prop("string", "An image schema url", readOnly=True),
    "locations": _prop("array", "A set of URLs to access the image file kept in external "
                       "store", items={"type": "object", "properties": {
                           "url": {"type": "string", "maxLength": 255},
                           "metadata": {"type": "object"}},
                           "required": ["url", "metadata"]}),
    # Glance's etc/schema-image.json, which every deployment ships.
    "kernel_id": _prop(["null", "string"], "ID of image stored in Glance that should be used "
                       "as the kernel when booting an AMI-style image.", pattern=_UUID,
                       is_base=False),
    "ramdisk_id": _prop(["null", "string"], "ID of image stored in Glance that should be used "
                        "as the ramdisk when booting an AMI-style image.", pattern=_UUID,
                        is_base=False),
    "instance_uuid": _prop("string", "Metadata which can be used to record which instance "
                           "this image is associated with. (Informational only, does not "
                           "create an instance snapshot.)", is_base=False),
    "architecture": _prop("string", "Operating system architecture as specified in "
                          "https://docs.openstack.org/python-glanceclient/latest/cli/"
                          "property-keys.html", is_base=False),
    "os_distro": _prop("string", "Common name of operating system distribution as specified "
                       "in https://docs.openstack.org/python-glanceclient/latest/cli/"
                       "property-keys.html", is_base=False),
    "os_version": _prop("string", "Operating system version as specified by the "
                        "distributor.", is_base=False),
    "description": _prop("string", "A human-readable string describing this image.",
                         is_base=False),
}

# Attributes the image table holds (everything else is an extra property).
BASE_ATTRIBUTES = ("id", "name", "status", "visibility", "protected", "os_hidden", "checksum",
                   "os_hash_algo", "os_hash_value", "owner", "size", "virtual_size",
                   "container_format", "disk_format", "created_at", "updated_at", "tags",
                   "min_ram", "min_disk")
READ_ONLY = ("created_at", "updated_at", "status", "checksum", "size", "virtual_size",
             "direct_url", "self", "file", "schema", "id", "os_hash_algo", "os_hash_value",
             "stores")
# Never accepted in a create body (Glance's _disallowed_properties).
DISALLOWED_ON_CREATE = ("direct_url", "self", "file", "schema", "stores")
RESERVED = ("location", "deleted", "deleted_at", "locations")
RESERVED_PREFIXES = ("os_glance",)

_LINKS = [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
          {"rel": "describedby", "href": "{schema}"}]

MEMBER_PROPERTIES: dict[str, dict[str, Any]] = {
    "member_id": _prop("string", "An identifier for the image member (tenantId)"),
    "image_id": _prop("string", "An identifier for the image", pattern=_UUID),
    "created_at": _prop("string", "Date and time of image member creation"),
    "updated_at": _prop("string", "Date and time of last modification of image member"),
    "status": _prop("string", "The status of this image member", enum=list(MEMBER_STATUSES)),
    "schema": _prop("string", "An image member schema url", readOnly=True),
}


def image_schema() -> dict[str, Any]:
    return {"name": "image", "properties": IMAGE_PROPERTIES,
            "additionalProperties": {"type": "string"}, "links": _LINKS}


def images_schema() -> dict[str, Any]:
    return {"name": "images",
            "properties": {"images": {"type": "array", "items": image_schema()},
                           "first": {"type": "string"}, "next": {"type": "string"},
                           "schema": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def member_schema() -> dict[str, Any]:
    return {"name": "member", "properties": MEMBER_PROPERTIES}


def members_schema() -> dict[str, Any]:
    return {"name": "members",
            "properties": {"members": {"type": "array", "items": member_schema()},
                           "schema": {"type": "string"}},
            "links": [{"rel": "self", "href": "{self}"},
                      {"rel": "describedby", "href": "{schema}"}]}


SCHEMAS = {"image": image_schema, "images": images_schema, "member": member_schema,
           "members": members_schema}


# --- validation -----------------------------------------------------------------------------

_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "boolean": (bool,),
                                      "array": (list,), "object": (dict,), "null": (type(None),)}


def _is_type(value: Any, name: str) -> bool:
    # JSON has no bool/int confusion; Python does.
    if name in ("integer",) and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[name])


def check_value(name: str, value: Any) -> str | None:
    """Why `value` is not valid for image attribute `name`, or None if it is."""
    schema = IMAGE_PROPERTIES.get(name, {"type": "string"})
    return _check(schema, value, name)


def _check(schema: dict[str, Any], value: Any, where: str) -> str | None:
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(_is_type(value, t) for t in names):
            return f"{value!r} is not of type {', '.join(repr(t) for t in names)} ({where})"
    if "enum" in schema and value not in schema["enum"]:
        return f"{value!r} is not one of {schema['enum']!r} ({where})"
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{value!r} is too long ({where})"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{value!r} does not match {schema['pattern']!r} ({where})"
    if isinstance(value, int) and not isinstance(value, bool) and "minimum" in schema \
            and value < schema["minimum"]:
        return f"{value!r} is less than the minimum of {schema['minimum']} ({where})"
    if isinstance(value, list) and "items" in schema:
        for item in value:
            if problem := _check(schema["items"], item, where):
                return problem
    return None


# --- fixed-shape bodies ---------------------------------------------------------------------

class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    member: StrictStr = Field(min_length=1, max_length=255)


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: StrictStr


class ImportMethod(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: StrictStr


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    method: ImportMethod
    stores: list[StrictStr] | None = None
    all_stores: StrictBool = False
    all_stores_must_succeed: StrictBool = True


PatchMediaType = Literal["application/openstack-images-v2.1-json-patch",
                         "application/openstack-images-v2.0-json-patch"]
