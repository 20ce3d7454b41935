"""Identity's errors, rendered as Keystone's `{"error": {"code", "title", "message"}}`.

    NotFound -> DomainNotFound, ProjectNotFound, UserNotFound, GroupNotFound, RoleNotFound,
                RegionNotFound, ServiceNotFound, EndpointNotFound, CredentialNotFound,
                ApplicationCredentialNotFound, TokenNotFound, ImpliedRoleNotFound,
                RoleAssignmentNotFound
    Conflict -> DuplicateEntry
    Unauthorized -> AuthFailed
    BadRequest -> ValidationError
"""

from __future__ import annotations

from nimbus.core import errors


class ValidationError(errors.BadRequest):
    template = "{detail}"


class AuthFailed(errors.Unauthorized):
    template = "The request you have made requires authentication."


class DuplicateEntry(errors.Conflict):
    template = "Conflict occurred attempting to store {kind} - Duplicate entry found with {field} {value}."


class DomainNotFound(errors.NotFound):
    template = "Could not find domain: {domain_id}."


class ProjectNotFound(errors.NotFound):
    template = "Could not find project: {project_id}."


class UserNotFound(errors.NotFound):
    template = "Could not find user: {user_id}."


class GroupNotFound(errors.NotFound):
    template = "Could not find group: {group_id}."


class RoleNotFound(errors.NotFound):
    template = "Could not find role: {role_id}."


class ImpliedRoleNotFound(errors.NotFound):
    template = "{prior_role_id} does not imply {implied_role_id}."


class RoleAssignmentNotFound(errors.NotFound):
    template = "Could not find role assignment with role: {role_id}, user or group: {actor_id}, project, domain, or system: {target_id}."


class RegionNotFound(errors.NotFound):
    template = "Could not find region: {region_id}."


class ServiceNotFound(errors.NotFound):
    template = "Could not find service: {service_id}."


class EndpointNotFound(errors.NotFound):
    template = "Could not find endpoint: {endpoint_id}."


class CredentialNotFound(errors.NotFound):
    template = "Could not find credential: {credential_id}."


class ApplicationCredentialNotFound(errors.NotFound):
    template = "Could not find Application Credential: {app_cred_id}."


class TokenNotFound(errors.NotFound):
    template = "Failed to validate token"


# Roles, grants, catalog and credentials (Forbidden and BadRequest leaves).

class InvalidImpliedRole(errors.Forbidden):
    template = "{role_id} is not an acceptable implied role: {reason}."


class DomainSpecificRoleMismatch(errors.Forbidden):
    template = "Project {project_id} must be in the same domain as the role {role_id} being assigned."


class ImmutableRole(errors.Forbidden):
    template = "Unable to {action} immutable role {role_id}: remove its immutable option first."


class RegionDeletionError(errors.Forbidden):
    template = "Unable to delete region {region_id} because it or its child regions have associated endpoints."


class CircularRegionHierarchy(errors.BadRequest):
    template = "The specified parent region {parent_region_id} would create a circular region hierarchy."


class AppCredRestricted(errors.Forbidden):
    template = "Using method 'application_credential' is not allowed for managing additional {what}."


# Projects, users and groups.

class ProjectTagNotFound(errors.NotFound):
    template = "Could not find project tag: {project_tag}."


class UserNotInGroup(errors.NotFound):
    template = "User '{user_id}' not found in group '{group_id}'."
