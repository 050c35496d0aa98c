"""Checks frames against the AsyncAPI document (halobestie/sockets/asyncapi.yaml)."""

from __future__ import annotations

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from halobestie.sockets import asyncapi

URI = "urn:halobestie:asyncapi"


class FrameChecker:
    """`check(channel, action, frame)` → a list of problems (empty when the frame matches).

    channel: "clientSocket" / "mitraSocket"; action: "send" (server → app) or "receive".
    """

    def __init__(self, doc: dict | None = None):
        self.doc = doc or asyncapi.document()
        resource = Resource.from_contents(self.doc, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(URI, resource)
        self.index: dict[tuple[str, str], dict[str, list[str]]] = {}
        for channel in self.doc["channels"]:
            for action in ("send", "receive"):
                table: dict[str, list[str]] = {}
                for op in self.doc["operations"].values():
                    if op["channel"]["$ref"] != f"#/channels/{channel}" or op["action"] != action:
                        continue
                    for ref in op["messages"]:
                        pointer = asyncapi.resolve(self.doc, ref["$ref"])["$ref"]
                        frame_type = asyncapi.resolve(self.doc, pointer)["payload"]["properties"]["type"]["const"]
                        table.setdefault(frame_type, []).append(pointer)
                self.index[(channel, action)] = table

    def check(self, channel: str, action: str, frame: dict) -> list[str]:
        pointers = self.index[(channel, action)].get(frame.get("type"))
        if not pointers:
            return [f"{frame.get('type')!r} is not documented for {channel} ({action})"]
        problems = []
        for pointer in pointers:
            validator = jsonschema.Draft202012Validator({"$ref": f"{URI}{pointer}/payload"}, registry=self.registry)
            errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(frame)]
            if not errors:
                return []
            problems += errors
        return [f"{frame['type']}: {p}" for p in problems[:5]]
