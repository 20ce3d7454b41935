"""Logging: one file per service under the state directory, request ids on every line.

A service logs under `nimbus.<service>`; in the all-in-one process every service still
gets its own file (`<state>/logs/<service>.log`), so that `grep <request id> logs/*` follows
one request across all of them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

from nimbus.core.context import global_request_id_var, request_id_var

FORMAT = ("%(asctime)s %(process)d %(levelname)s %(name)s "
          "[%(request_id)s %(global_request_id)s] %(message)s")

# Tokens and passwords must never reach a log file, whatever a caller formats.
_SECRET_PATTERNS = [
    re.compile(r'("?(?:password|secret|token|X-Auth-Token|X-Subject-Token)"?\s*[:=]\s*)'
               r'("[^"]*"|\'[^\']*\'|[^\s,}]+)', re.IGNORECASE),
]


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        record.global_request_id = global_request_id_var.get() or "-"
        return True


class SecretMaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(r"\1***", text)
        return text


class _ServiceFilter(logging.Filter):
    """Passes records of one service's loggers (nimbus.<service>...)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.prefix = f"nimbus.{service}"

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == self.prefix or record.name.startswith(self.prefix + ".")


class _OtherFilter(logging.Filter):
    def __init__(self, services: Iterable[str]) -> None:
        super().__init__()
        self.prefixes = tuple(f"nimbus.{s}" for s in services)

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(self.prefixes)


def setup_logging(log_dir: Path, services: Iterable[str], *, level: str = "INFO",
                  console: bool = False) -> None:
    """Send each service's records to `<log_dir>/<service>.log`; the rest to nimbus.log."""
    services = list(services)
    log_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_nimbus", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    formatter = SecretMaskingFormatter(FORMAT)
    ids = RequestIdFilter()

    def add(handler: logging.Handler, flt: logging.Filter | None) -> None:
        handler.setFormatter(formatter)
        handler.addFilter(ids)
        if flt is not None:
            handler.addFilter(flt)
        handler._nimbus = True  # type: ignore[attr-defined]
        root.addHandler(handler)

    for service in services:
        add(logging.FileHandler(log_dir / f"{service}.log"), _ServiceFilter(service))
    add(logging.FileHandler(log_dir / "nimbus.log"), _OtherFilter(services))
    if console:
        add(logging.StreamHandler(), None)
    # uvicorn's access log and httpx's per-request lines would duplicate our own request log.
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
