"""The process's Prometheus instruments (prometheus-client), kept apart from the library's
default registry so only these are shipped and served.

Hooks in hot paths are one call each: a counter increment, a gauge step, one histogram
observation. Nothing here touches the network; `shipping` sends the numbers to Redis from
a background thread, and the internal entrypoint serves the sum of every process
(`control_center.metrics`). See the README's "Metrics" section.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

# `_created` timestamps are per process and cannot be summed across processes.
disable_created_metrics()

REGISTRY = CollectorRegistry(auto_describe=True)

SOCKETS_OPEN = Gauge(
    "halobestie_sockets_open", "Authenticated app sockets open now, by role.", ["role"], registry=REGISTRY
)
MESSAGES = Counter(
    "halobestie_messages",
    "Chat messages stored (socket and REST; retries of a stored message not counted), by sender.",
    ["sender"],
    registry=REGISTRY,
)
SOCKET_HANDLER_SECONDS = Histogram(
    "halobestie_socket_handler_seconds",
    "Time a socket frame's handler took (service call included, ack excluded), by frame type.",
    ["frame"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
PAYMENT_WEBHOOKS = Counter(
    "halobestie_payment_webhooks",
    "Xendit invoice callbacks received, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)

# Children bound once: the hot paths skip the label lookup (and its lock).
SOCKETS_OPEN_BY_ROLE = {role: SOCKETS_OPEN.labels(role=role) for role in ("client", "mitra")}
MESSAGES_BY_SENDER = {sender: MESSAGES.labels(sender=sender) for sender in ("client", "mitra")}
_handler_children: dict[str, object] = {}

# What invoice_callback_handle returns, plus the view's own refusals; anything else is "other"
# (labels stay a small fixed set).
WEBHOOK_OUTCOMES = frozenset({
    "paid", "expired", "duplicate", "duplicate_payment", "amount_mismatch", "unknown_invoice", "ignored",
    "refund_needed", "rejected", "invalid", "other",
})


def socket_handler_observe(frame_type: str, seconds: float) -> None:
    """Only called for frame types that have a handler, so the label set is bounded."""
    child = _handler_children.get(frame_type)
    if child is None:
        child = _handler_children[frame_type] = SOCKET_HANDLER_SECONDS.labels(frame=frame_type)
    child.observe(seconds)


def payment_webhook(outcome: str) -> None:
    PAYMENT_WEBHOOKS.labels(outcome=outcome if outcome in WEBHOOK_OUTCOMES else "other").inc()
