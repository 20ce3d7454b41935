"""Image's errors, rendered as Glance's plain-text bodies (`404 Not Found\n\n<message>`).

    BadRequest            -> InvalidImage, InvalidPatch, InvalidFilter, UploadInterrupted
    Forbidden             -> ReadOnlyAttribute, ReservedAttribute, AttributeNotRemovable,
                             OwnerChangeForbidden, FormatChangeForbidden, LocationsHidden,
                             ImageProtected, ImageNotModifiable, MembersOnlyForShared,
                             MemberActionForbidden, ImageDeactivated, InvalidStatusForAction
    NotFound              -> ImageNotFound, MemberNotFound, TagNotFound, StoreNotFound,
                             ImageNotInStore
    Conflict              -> InvalidStatusTransition, DuplicateMember, DuplicateImage,
                             PropertyConflict, LastCopy, ImportConflict
    OverLimit             -> QuotaExceeded, StorageFull, ImageTooLarge, TooManyMembers,
                             TooManyProperties, TooManyTags
    UnsupportedMediaType  -> WrongContentType
    Gone (410)            -> ImageDeletedDuringUpload
    RangeNotSatisfiable   (416)
"""

from __future__ import annotations

from nimbus.core import errors


class InvalidImage(errors.BadRequest):
    template = "{detail}"


class InvalidPatch(errors.BadRequest):
    template = "{detail}"


class InvalidFilter(errors.BadRequest):
    template = "{detail}"


class UploadInterrupted(errors.BadRequest):
    template = "The upload of image {image_id} was interrupted; the image is queued again."


class ReadOnlyAttribute(errors.Forbidden):
    template = "Attribute '{name}' is read-only."


class ReservedAttribute(errors.Forbidden):
    template = "Attribute '{name}' is reserved."


class AttributeNotRemovable(errors.Forbidden):
    template = "Property {name} may not be removed."


class OwnerChangeForbidden(errors.Forbidden):
    template = "Owner can't be updated by non admin."


class FormatChangeForbidden(errors.Forbidden):
    template = "Attribute {name} can be only replaced for a queued image."


class LocationsHidden(errors.Forbidden):
    template = "It's not allowed to update locations if locations are invisible."


class ImageProtected(errors.Forbidden):
    template = "Image {image_id} is protected and cannot be deleted."


class ImageNotModifiable(errors.Forbidden):
    template = "You are not permitted to modify image {image_id}."


class MembersOnlyForShared(errors.Forbidden):
    template = "Only shared images have members."


class MemberActionForbidden(errors.Forbidden):
    template = "Not allowed to {action} members for image {image_id}."


class ImageDeactivated(errors.Forbidden):
    template = "The requested image has been deactivated. Image data download is forbidden."


class InvalidStatusForAction(errors.Forbidden):
    template = "Not allowed to {action} image in status '{status}'"


class ImageNotFound(errors.NotFound):
    template = "No image found with ID {image_id}"


class MemberNotFound(errors.NotFound):
    template = "{member_id} not found in the member list of the image {image_id}."


class TagNotFound(errors.NotFound):
    template = "Tag {tag} not found in image {image_id}."


class StoreNotFound(errors.NotFound):
    template = "Unknown store '{store_id}'."


class ImageNotInStore(errors.NotFound):
    template = "Image {image_id} has no data in store {store_id}."


class InvalidStatusTransition(errors.Conflict):
    template = "Image status transition from {current} to {wanted} is not allowed"


class DuplicateMember(errors.Conflict):
    template = "Member {member_id} is duplicated for image {image_id}"


class DuplicateImage(errors.Conflict):
    template = "An image with identifier {image_id} already exists"


class PropertyConflict(errors.Conflict):
    template = "{detail}"


class LastCopy(errors.Conflict):
    template = "Cannot delete the last copy of image {image_id}: delete the image instead."


class ImportConflict(errors.Conflict):
    template = "{detail}"


class QuotaExceeded(errors.OverLimit):
    template = "Project {project_id} is over a limit for {resource}: {limit} allowed, {wanted} wanted"


class StorageFull(errors.OverLimit):
    template = "Image storage media is full: {detail}"


class ImageTooLarge(errors.OverLimit):
    template = "The incoming image is too large: more than {limit} bytes."


class TooManyMembers(errors.OverLimit):
    template = "Image member limit exceeded for image {image_id}: {limit} members allowed."


class TooManyProperties(errors.OverLimit):
    template = "Attempted to add more image properties than allowed: {limit} allowed."


class TooManyTags(errors.OverLimit):
    template = "Attempted to add more image tags than allowed: {limit} allowed."


class WrongContentType(errors.UnsupportedMediaType):
    template = "Content type {content_type} is not supported here; expected {expected}."


class ImageDeletedDuringUpload(errors.NimbusError):
    status, title = 410, "Gone"
    template = ("Image {image_id} could not be found after upload. The image may have been "
                "deleted during the upload, cleaning up the chunks uploaded.")


class RangeNotSatisfiable(errors.NimbusError):
    status, title = 416, "Requested Range Not Satisfiable"
    template = "Requested range {range} not satisfiable for an image of {size} bytes."
