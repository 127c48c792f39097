"""The X-Tianshu-Signature header: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>".
The time is signed with the body so that a receiver can refuse an old message replayed later."""
from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Tianshu-Signature"


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, body: bytes, header: str, now: int, tolerance_seconds: int = 300) -> bool:
    """What a receiver does: the signature matches and the time is recent."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return abs(now - timestamp) <= tolerance_seconds and hmac.compare_digest(expected, fields.get("v1", ""))
