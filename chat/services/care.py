"""Care and safety hooks on the chat path (the crisis lexicon lands with the care issue)."""


def crisis_check(*, session, message) -> None:
    return None


def mitra_went_offline(*, mitra) -> None:
    return None
