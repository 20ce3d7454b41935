"""What the volume scheduler knows about one host while it places a volume."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class BackendState:
    host: str
    availability_zone: str
    enabled: bool
    up: bool
    total_capacity_gb: int
    # What the backend itself reports free (thin files are bounded by the disk under them).
    free_capacity_gb: int
    # The sum of the sizes of the volumes the database places here.
    provisioned_gb: int
    capabilities: dict[str, Any]

    def room(self, ratio: float) -> float:
        """What may still be provisioned here, over-subscription allowed."""
        return self.total_capacity_gb * ratio - self.provisioned_gb

    def consume(self, size_gb: int) -> None:
        self.provisioned_gb += size_gb
        self.free_capacity_gb -= size_gb
