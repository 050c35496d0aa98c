"""The API's JSON parser: DRF's, minus numbers no float can hold.

`1e400` is valid JSON text but becomes `inf` in Python, which PostgreSQL's jsonb (the
Xendit callback is stored as it came) and every numeric field refuse: without this a
hostile or broken body is a 500. Here it is a malformed body: 400 validation_error. So is
JSON nested deeper than Python's parser can recurse.
"""

from __future__ import annotations

import codecs
import math

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            decoded_stream = codecs.getreader(encoding)(stream)
            return json.load(decoded_stream, parse_float=_finite_float)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:  # "[[[[…" nested deeper than the parser's stack
            raise ParseError("JSON parse error - nested too deeply.") from None
