"""Push notifications (filled in by the push issue). Callers only ever call these."""


def notify_on_commit(event: str, *, session, to: tuple[str, ...]) -> None:
    return None


def notify_new_message_on_commit(*, message, session) -> None:
    return None


def notify_offer_on_commit(*, request, mitra_ids) -> None:
    return None
