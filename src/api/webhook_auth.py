"""Authenticating SDP webhooks: a static shared-secret header or a timestamped HMAC.

SDP's webhook form can only send static headers, so ``X-Webhook-Secret`` (compared in constant
time) is the usual way. Senders that can sign use ``X-Enhancer-Signature: sha256=<hex>`` over
``"<X-Enhancer-Timestamp>.<raw body>"``, accepted within a replay window.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SECRET_HEADER = "x-webhook-secret"
SIGNATURE_HEADER = "x-enhancer-signature"
TIMESTAMP_HEADER = "x-enhancer-timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Enhancer-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int,
    now: float | None = None,
) -> str | None:
    """Return None when authentic, else the reason it is not (for the 401 message)."""
    given_secret = headers.get(SECRET_HEADER)
    if given_secret is not None:
        if hmac.compare_digest(given_secret.encode(), secret.encode()):
            return None
        return "X-Webhook-Secret does not match"
    signature = headers.get(SIGNATURE_HEADER)
    if signature is None:
        return "missing X-Webhook-Secret or X-Enhancer-Signature header"
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    try:
        sent_at = float(timestamp)
    except ValueError:
        return "X-Enhancer-Timestamp must be unix seconds"
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_seconds:
        return f"X-Enhancer-Timestamp outside the {tolerance_seconds}s window"
    if not hmac.compare_digest(signature.encode(), sign(secret, timestamp, body).encode()):
        return "X-Enhancer-Signature does not match"
    return None
