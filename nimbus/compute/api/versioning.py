"""Compute microversions: `OpenStack-API-Version: compute X.Y` or the legacy
`X-OpenStack-Nova-API-Version: X.Y`; the version served is echoed in both, with `Vary`
(core.microversions does the parsing and the echo for every API).

Shapes that change with the version live in views.py and schemas.py as data keyed on the
version, never as decorators.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from nimbus.core.microversions import Microversions

MIN_VERSION = (2, 1)
# Advertise only what every route honours at every version in the range.
MAX_VERSION = (2, 79)

MICROVERSIONS = Microversions("compute", minimum=MIN_VERSION, maximum=MAX_VERSION,
                              legacy_header="X-OpenStack-Nova-API-Version")
Version = Annotated[tuple[int, int], Depends(MICROVERSIONS.dependency)]
