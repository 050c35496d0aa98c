import re
import uuid

# The canonical 8-4-4-4-12 form only (what the API writes and the schema's `format: uuid`
# means); uuid.UUID() also takes bare hex, braces and a urn: prefix.
_CANONICAL = re.compile(r"\A[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def parse_uuid(value) -> uuid.UUID | None:
    """A UUID from untrusted input, or None (callers answer 404 / validation_error)."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or not _CANONICAL.match(value):
        return None
    return uuid.UUID(value)
