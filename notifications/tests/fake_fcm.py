"""A fake FCM v1 endpoint on loopback (pytest-httpserver) for firebase-admin to talk to.

It records every request body and answers success, or, for tokens told to fail, the
error bodies FCM documents (one planned answer per request, in order).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PROJECT = "demo-halobestie"
SEND_PATH = f"/v1/projects/{PROJECT}/messages:send"
_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def _error(status: int, grpc_status: str, message: str, fcm_code: str | None = None,
           headers: dict | None = None) -> Response:
    error = {"code": status, "message": message, "status": grpc_status}
    if fcm_code:
        error["details"] = [{"@type": _FCM_ERROR, "errorCode": fcm_code}]
    return Response(json.dumps({"error": error}), status=status, content_type="application/json",
                    headers=headers or {})


ANSWERS = {
    "unavailable": lambda: _error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"),
    "internal": lambda: _error(500, "INTERNAL", "Internal error encountered.", "INTERNAL"),
    "quota": lambda: _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "QUOTA_EXCEEDED",
                            headers={"Retry-After": "7"}),
    "unregistered": lambda: _error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"),
    "invalid_token": lambda: _error(400, "INVALID_ARGUMENT",
                                    "The registration token is not a valid FCM registration token",
                                    "INVALID_ARGUMENT"),
    "invalid_payload": lambda: _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.",
                                      "INVALID_ARGUMENT"),
    "sender_mismatch": lambda: _error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"),
    "apns_auth": lambda: _error(401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service",
                                "THIRD_PARTY_AUTH_ERROR"),
}


class FakeFcm:
    def __init__(self):
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self._lock = threading.Condition()
        self.requests: list[dict] = []  # {"path", "headers", "body"}
        self._plans: dict[str, list[str]] = defaultdict(list)
        self._count = 0

    # --- lifecycle
    def start(self) -> FakeFcm:
        self.server.expect_request(SEND_PATH, method="POST").respond_with_handler(self._handle)
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    # --- behaviour
    def plan(self, token: str, *answers: str) -> None:
        """The next requests for `token` get these answers (names of ANSWERS), then success."""
        with self._lock:
            self._plans[token].extend(answers)

    def _handle(self, request: Request) -> Response:
        body = request.get_json()
        token = body["message"].get("token", "")
        with self._lock:
            self.requests.append({"path": request.path, "headers": dict(request.headers), "body": body})
            plan = self._plans.get(token)
            answer = plan.pop(0) if plan else None
            self._count += 1
            n = self._count
            self._lock.notify_all()
        if answer:
            return ANSWERS[answer]()
        return Response(json.dumps({"name": f"projects/{PROJECT}/messages/{n}"}), content_type="application/json")

    # --- what it received
    @property
    def messages(self) -> list[dict]:
        with self._lock:
            return [r["body"]["message"] for r in self.requests]

    def messages_to(self, token: str) -> list[dict]:
        return [m for m in self.messages if m.get("token") == token]

    def raw_bodies(self) -> list[str]:
        with self._lock:
            return [json.dumps(r["body"], ensure_ascii=False) for r in self.requests]

    def wait_for(self, predicate, timeout: float = 10.0) -> list[dict]:
        """Wait (with a deadline) until predicate(messages) holds; returns the messages."""
        with self._lock:
            met = self._lock.wait_for(lambda: predicate([r["body"]["message"] for r in self.requests]), timeout)
            if not met:
                raise AssertionError(f"fake FCM: condition not met in {timeout} s; got {len(self.requests)} messages")
            return [r["body"]["message"] for r in self.requests]
