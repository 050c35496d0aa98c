"""The socket protocol document (AsyncAPI 3), served by the public entrypoint.

`asyncapi.yaml` beside this module is written by hand next to the consumer; the shapes it
shares with the REST API are copied in from the OpenAPI schema (converted from OpenAPI's
`nullable` to JSON Schema's `null` type), so a field added to `Session` shows up in both.
"""

from __future__ import annotations

import copy
import functools
import html
import json
import re
from pathlib import Path

import yaml
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import View

DOCUMENT = Path(__file__).with_name("asyncapi.yaml")
REF = re.compile(r"^#/components/schemas/(?P<name>[^/]+)$")


def source() -> dict:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def _refs(node) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        match = REF.match(node.get("$ref", "")) if isinstance(node.get("$ref"), str) else None
        if match:
            found.add(match["name"])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _json_schema(node):
    """OpenAPI 3.0 schema object → JSON Schema (AsyncAPI's default schema format)."""
    if isinstance(node, list):
        return [_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _json_schema(v) for k, v in node.items()}
    if node.pop("nullable", False):
        if "type" in node and isinstance(node["type"], str):
            node["type"] = [node["type"], "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"oneOf": [node, {"type": "null"}]}
    return node


def _openapi_components() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


@functools.lru_cache(maxsize=1)
def document() -> dict:
    """The served document: the YAML plus every REST shape it refers to, transitively."""
    doc = source()
    own = doc["components"]["schemas"]
    shared = _openapi_components()
    wanted = _refs(doc) - set(own)
    done: set[str] = set()
    while wanted:
        name = wanted.pop()
        done.add(name)
        if name not in shared:
            continue  # left dangling on purpose: the test reports it
        own[name] = _json_schema(copy.deepcopy(shared[name]))
        wanted |= _refs(own[name]) - done - set(doc["components"]["schemas"])
    return doc


def resolve(doc: dict, ref: str):
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def frames(doc: dict, channel: str, action: str) -> list[dict]:
    """The messages of `channel` in operations with `action` (receive: app → server)."""
    out: dict[str, dict] = {}
    for op in doc["operations"].values():
        if op["channel"]["$ref"] != f"#/channels/{channel}" or op["action"] != action:
            continue
        for ref in op["messages"]:
            message = resolve(doc, resolve(doc, ref["$ref"])["$ref"])
            out[message["payload"]["properties"]["type"]["const"]] = message
    return list(out.values())


# --- views -----------------------------------------------------------------------------------


class AsyncApiYamlView(View):
    def get(self, request):
        return HttpResponse(yaml.safe_dump(document(), sort_keys=False, allow_unicode=True),
                            content_type="application/yaml; charset=utf-8")


class AsyncApiJsonView(View):
    def get(self, request):
        return JsonResponse(document(), json_dumps_params={"ensure_ascii": False})


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


class SocketDocsView(View):
    """A server-rendered page of the document: no script, no CDN, readable offline."""

    def get(self, request):
        doc = document()
        channels = []
        for key, channel in doc["channels"].items():
            sections = []
            for action, title in (("receive", "App → server"), ("send", "Server → app")):
                items = [{
                    "type": m["payload"]["properties"]["type"]["const"],
                    "title": m.get("title", ""),
                    "summary": _inline(m.get("summary", "")),
                    "payload": json.dumps(m["payload"], indent=2, ensure_ascii=False),
                } for m in frames(doc, key, action)]
                sections.append({"title": title, "frames": items})
            channels.append({"key": key, "title": channel.get("title", key), "address": channel["address"],
                             "sections": sections})
        paragraphs = [_inline(p) for p in doc["info"]["description"].split("\n\n") if p.strip()]
        schemas = [{"name": name, "schema": json.dumps(schema, indent=2, ensure_ascii=False)}
                   for name, schema in sorted(doc["components"]["schemas"].items())]
        return HttpResponse(render_to_string("sockets/asyncapi.html", {
            "info": doc["info"], "paragraphs": paragraphs, "channels": channels, "schemas": schemas,
            "asyncapi_version": doc["asyncapi"],
        }, request=request))
