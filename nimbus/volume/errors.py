"""Block storage's errors, rendered as Cinder's `{"<key>": {"code", "message"}}` (Cinder's wsgi
Fault names the key by status, as Nova's does: core.http.nova_error_body).

    BadRequest  -> InvalidInput, InvalidVolume, InvalidSnapshot, InvalidVolumeType,
                   InvalidImage, InvalidAttachment, InvalidQuotaValue
    NotFound    -> VolumeNotFound, SnapshotNotFound, VolumeTypeNotFound, ExtraSpecNotFound,
                   MetadataNotFound, AttachmentNotFound, TypeAccessNotFound, ServiceNotFound,
                   MarkerNotFound, HostNotFound, MessageNotFound
    Conflict    -> VolumeTypeExists, VolumeTypeInUse, TypeAccessExists
    OverLimit   -> QuotaExceeded (413, as Cinder's VolumeLimitExceeded and friends)
    NimbusError -> NoValidBackend (500; recorded as the volume's error, never an HTTP answer),
                   BackendError (a backend operation failed on a host)
"""

from __future__ import annotations

from nimbus.core import errors


class InvalidInput(errors.BadRequest):
    template = "Invalid input received: {reason}"


class InvalidVolume(errors.BadRequest):
    template = "Invalid volume: {reason}"


class InvalidSnapshot(errors.BadRequest):
    template = "Invalid snapshot: {reason}"


class InvalidVolumeType(errors.BadRequest):
    template = "Invalid volume type: {reason}"


class InvalidImage(errors.BadRequest):
    template = "Invalid image: {reason}"


class InvalidAttachment(errors.BadRequest):
    template = "Invalid attachment: {reason}"


class VolumeNotFound(errors.NotFound):
    template = "Volume {volume_id} could not be found."


class SnapshotNotFound(errors.NotFound):
    template = "Snapshot {snapshot_id} could not be found."


class VolumeTypeNotFound(errors.NotFound):
    template = "Volume type {type_id} could not be found."


class ExtraSpecNotFound(errors.NotFound):
    template = "Volume Type {type_id} has no extra specs with key {key}."


class MetadataNotFound(errors.NotFound):
    template = "{kind} {owner_id} has no metadata with key {key}."


class AttachmentNotFound(errors.NotFound):
    template = "Volume attachment could not be found with filter: attachment_id = {attachment_id}."


class TypeAccessNotFound(errors.NotFound):
    template = "Volume type access not found for {type_id} / {project_id} combination."


class MessageNotFound(errors.NotFound):
    template = "Message {message_id} could not be found."


class MarkerNotFound(errors.NotFound):
    template = "Marker {marker} could not be found."


class HostNotFound(errors.NotFound):
    template = "Host {host} could not be found."


class ServiceNotFound(errors.NotFound):
    template = "Service {service} could not be found."


class VolumeTypeExists(errors.Conflict):
    template = "Volume Type {name} already exists."


class VolumeTypeInUse(errors.BadRequest):
    template = ("Volume Type {type_id} deletion is not allowed with volumes present with the "
                "type.")


class TypeAccessExists(errors.Conflict):
    template = "Volume type access for {type_id} / {project_id} combination already exists."


class QuotaExceeded(errors.OverLimit):
    template = ("Requested volume or snapshot exceeds allowed {resource} quota. Requested "
                "{requested}G, quota is {quota}G and {consumed}G has been consumed.")


class CountExceeded(errors.OverLimit):
    template = "Maximum number of {resource} allowed ({allowed}) exceeded for quota '{name}'."


class PerVolumeSizeExceeded(errors.OverLimit):
    template = ("Requested volume size {size}G is larger than maximum allowed limit "
                "{limit}G.")


class NoValidBackend(errors.NimbusError):
    """Scheduling found no volume host; the volume goes to error with this reason."""

    template = "No valid backend was found. {reason}"


class BackendError(errors.NimbusError):
    """A backend operation failed on a volume host."""

    template = "{operation} failed on {host}: {reason}"
