"""Which webhook URLs CreateBatch accepts: absolute http(s) URLs of bounded length, with a
host, without credentials (they would be stored and shown back in every Batch)."""
from __future__ import annotations

from urllib.parse import urlsplit

from tianshu_grpc_server.errors import InvalidArgument

MAX_URL_CHARS = 2048


def check_url(url: str) -> str:
    """Returns the URL, or raises InvalidArgument naming what is wrong with it."""
    if len(url) > MAX_URL_CHARS:
        raise InvalidArgument("webhook_url", f"longer than {MAX_URL_CHARS} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidArgument("webhook_url", "must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError as error:
        raise InvalidArgument("webhook_url", f"not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidArgument("webhook_url", "must be an absolute http:// or https:// URL")
    if not parts.hostname:
        raise InvalidArgument("webhook_url", "must name a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidArgument("webhook_url", "must not carry credentials; the signature authenticates the call")
    if parts.fragment:
        raise InvalidArgument("webhook_url", "must not have a #fragment")
    return url
