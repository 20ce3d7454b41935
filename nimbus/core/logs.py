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


# What every pattern above needs to find, case-folded (a superset of what IGNORECASE
# matches): most lines name none of these and skip the patterns, which cost three times
# the formatting of the line itself.
_SECRET_WORDS = ("password", "secret", "token")


class SecretMaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        folded = text.casefold()
        if any(word in folded for word in _SECRET_WORDS):
            for pattern in _SECRET_PATTERNS:
                text = pattern.sub(r"\1***", text)
        return text


class _ServiceFiles(logging.Handler):
    """Writes each record to its service's file (`nimbus.<service>...` loggers), the rest to
    the `other` file: one handler rather than one per service, so that a record is not
    offered to a dozen handlers, each taking its lock and running its filters, to be written
    by one of them."""

    def __init__(self, files: dict[str, logging.FileHandler],
                 other: logging.FileHandler) -> None:
        super().__init__()
        self.files, self.other = files, other

    def emit(self, record: logging.LogRecord) -> None:
        package, _, rest = record.name.partition(".")
        service = rest.partition(".")[0] if package == "nimbus" else ""
        self.files.get(service, self.other).emit(record)

    def setFormatter(self, fmt: logging.Formatter | None) -> None:  # noqa: N802 (logging's name)
        super().setFormatter(fmt)
        for handler in (*self.files.values(), self.other):
            handler.setFormatter(fmt)

    def flush(self) -> None:
        for handler in (*self.files.values(), self.other):
            handler.flush()

    def close(self) -> None:
        for handler in (*self.files.values(), self.other):
            handler.close()
        super().close()


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

    def add(handler: logging.Handler) -> None:
        handler.setFormatter(formatter)
        handler.addFilter(ids)
        handler._nimbus = True  # type: ignore[attr-defined]
        root.addHandler(handler)

    add(_ServiceFiles({service: logging.FileHandler(log_dir / f"{service}.log")
                       for service in services},
                      logging.FileHandler(log_dir / "nimbus.log")))
    if console:
        add(logging.StreamHandler())
    # uvicorn's access log and httpx's per-request lines would duplicate our own request log.
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
