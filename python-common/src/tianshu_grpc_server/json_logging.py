"""JSON log lines on stderr; every record carries the request id of the call it belongs to."""
from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

# Set per call by TelemetryInterceptor from the caller's x-request-id metadata.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id.get()
    return record


# Every record, whoever logs it and through whichever handler, carries the request id.
logging.setLogRecordFactory(_record_with_request_id)


def configure(level: str, service: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        static_fields={"service": service}))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
