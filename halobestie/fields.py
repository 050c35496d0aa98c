"""Input fields that accept exactly what the OpenAPI schema says, nothing DRF would coerce.

Generated app code (and schemathesis with `--checks all`) trusts the schema, so a request
body the schema calls valid must be accepted and one it calls invalid refused:

- a string field takes only JSON strings (DRF's CharField also takes numbers), measures
  `maxLength`/`minLength` on the text as sent (DRF measures it after trimming), and its
  schema carries a `pattern` for what DRF refuses beyond length: NUL characters (which
  PostgreSQL cannot store), and, when blank is not allowed, text with no visible character
  (only whitespace, as Python's `str.isspace` counts it);
- a boolean takes only `true`/`false` (not "yes", 1 or "on"), an integer only a JSON
  integer (not "5" or 5.0), a UUID only the canonical 8-4-4-4-12 text (not an integer,
  32 bare hex digits or a `urn:uuid:` prefix).
"""

from __future__ import annotations

import re

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

# Every character Python's str.isspace() (what DRF's trimming strips) calls whitespace.
WHITESPACE = "\\t-\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NO_NUL = "^[^\\u0000]*$"
NO_NUL_NONEMPTY = "^[^\\u0000]+$"
VISIBLE_NO_NUL = f"^[^\\u0000]*[^\\u0000{WHITESPACE}][^\\u0000]*$"
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UUID = re.compile(UUID_PATTERN)


class StrictCharField(serializers.CharField):
    def __init__(self, **kwargs):
        # Blank-after-trimming is refused when blank is not allowed (DRF's rule); `visible`
        # also covers fields that are not trimmed but must show something (message bodies).
        self.visible = kwargs.pop("visible", None)
        # Only for payloads we do not control (Xendit's callback): numbers are taken as text.
        self.accept_numbers = kwargs.pop("accept_numbers", False)
        super().__init__(**kwargs)
        if self.visible is None:
            self.visible = not self.allow_blank and self.trim_whitespace

    def run_validation(self, data=serializers.empty):
        if data is not serializers.empty and data is not None:
            if self.accept_numbers and isinstance(data, (int, float)) and not isinstance(data, bool):
                data = str(data)
            if not isinstance(data, str):
                self.fail("invalid")
            if self.max_length is not None and len(data) > self.max_length:
                self.fail("max_length", max_length=self.max_length)
            if self.min_length is not None and len(data) < self.min_length:
                self.fail("min_length", min_length=self.min_length)
        return super().run_validation(data)

    @property
    def schema_pattern(self) -> str:
        if self.visible:
            return VISIBLE_NO_NUL
        # With allow_blank the schema is oneOf [this, the empty string]: keep them exclusive.
        return NO_NUL_NONEMPTY if self.allow_blank else NO_NUL


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    def to_internal_value(self, data):
        if not isinstance(data, str) or not _UUID.match(data):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class StrictCharFieldSchema(OpenApiSerializerFieldExtension):
    target_class = StrictCharField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if not any(isinstance(v, RegexValidator) for v in self.target.validators):
            schema["pattern"] = self.target.schema_pattern  # else the validator's, which is stricter
        return schema


class StrictUUIDFieldSchema(OpenApiSerializerFieldExtension):
    target_class = StrictUUIDField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["pattern"] = UUID_PATTERN
        return schema
