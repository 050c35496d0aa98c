import uuid


def parse_uuid(value) -> uuid.UUID | None:
    """A UUID from untrusted input, or None (callers answer 404 / validation_error)."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
