"""Hypervisor drivers behind `VirtDriver`; the entry point picks one from `DRIVERS` by name."""
