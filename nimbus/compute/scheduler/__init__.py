"""The scheduler: placement candidates, then filters and weighers, then an atomic claim."""
