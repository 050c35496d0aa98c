"""Rules of a chat written once, for the services, the shapes and the serializers."""

from __future__ import annotations

from accounts.selectors import platform_settings

# The longest message, in characters (api.md): the model, the REST input and the socket
# frame all refuse what is longer with the same error.
MAX_BODY = 4000


def early_end_allowed(role: str) -> bool:
    """May this side end a session before its time (a control-center toggle per side)?"""
    settings_row = platform_settings()
    return settings_row.client_can_end_early if role == "client" else settings_row.mitra_can_end_early
