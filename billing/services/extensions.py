"""The extension state machine (filled in by the billing issue)."""


def extensions_cancel_for_closed_session(*, session) -> None:
    return None


def extension_sweep_overdue(now=None) -> int:
    return 0
