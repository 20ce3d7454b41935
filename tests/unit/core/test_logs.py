from __future__ import annotations

import logging
from pathlib import Path

from nimbus.core.context import RequestContext, bind_request_ids
from nimbus.core.logs import SecretMaskingFormatter, setup_logging


def test_each_service_logs_to_its_own_file_with_request_ids_and_no_secrets(tmp_path: Path) -> None:
    setup_logging(tmp_path, ["identity", "compute"])
    try:
        ctx = RequestContext(request_id="req-aaa", global_request_id="req-ggg")
        bind_request_ids(ctx)
        logging.getLogger("nimbus.identity.api").info(
            'auth body {"password": "hunter2"} token=gAAAAB123')
        logging.getLogger("nimbus.compute.manager").warning("spawning")
        logging.getLogger("sqlalchemy").warning("elsewhere")
        for handler in logging.getLogger().handlers:
            handler.flush()
        identity = (tmp_path / "identity.log").read_text()
        assert "[req-aaa req-ggg]" in identity and "auth body" in identity
        assert "hunter2" not in identity and "gAAAAB123" not in identity
        assert "spawning" in (tmp_path / "compute.log").read_text()
        assert "spawning" not in identity
        assert "elsewhere" in (tmp_path / "nimbus.log").read_text()
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_nimbus", False):
                logging.getLogger().removeHandler(handler)
                handler.close()


def test_secrets_are_masked_whatever_the_case_of_their_name() -> None:
    formatter = SecretMaskingFormatter("%(message)s")
    # "\u017f" (long s) and "\u212a" (Kelvin sign) match "s" and "k" under IGNORECASE.
    for line in ('X-AUTH-TOKEN: abc123', 'PassWord=abc123', 'pa\u017f\u017fword=abc123',
                 'to\u212aen=abc123', '{"Secret": "abc123"}'):
        record = logging.LogRecord("nimbus.x", logging.INFO, __file__, 1, line, None, None)
        assert "abc123" not in formatter.format(record), line
    record = logging.LogRecord("nimbus.x", logging.INFO, __file__, 1, "GET /servers 200", None,
                               None)
    assert formatter.format(record) == "GET /servers 200"
