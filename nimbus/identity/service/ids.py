from __future__ import annotations

import uuid


def new_id() -> str:
    """Keystone's ids: 32 lowercase hex characters."""
    return uuid.uuid4().hex
