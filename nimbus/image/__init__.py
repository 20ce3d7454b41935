"""The image service: Glance v2 at `/image`, image bytes in a store behind a small ABC."""
