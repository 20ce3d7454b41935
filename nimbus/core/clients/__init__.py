"""REST clients for other services. Each takes an `httpx.AsyncClient`; tests and the all-in-one
process hand in one whose transport is the ASGI app itself."""
