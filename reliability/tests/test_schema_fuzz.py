"""Schema fuzzing: schemathesis against the live OpenAPI schema, every operation, each role.

The schema is read from the public app's own `/api/schema/` and every request goes through
the same Django handler and middleware as production (in-process WSGI, so the fuzzer's
requests see this test's rows and roll back with it). Each operation is fuzzed with a
valid token of the role it belongs to; path parameters are, most of the time, swapped for
real objects of the caller (its session, its pairing request, an extension, its device),
so the fuzzer gets past the 404 and into the views' validation and the services.

Checks: every built-in one, as `schemathesis run --checks all`: no 5xx; status code,
content type, headers and body conform to the schema (which documents every error answer,
see halobestie/openapi.py); schema-invalid input is refused and schema-valid input
accepted (only references to rows that do not exist are forgiven, see REFERENCE_FIELDS);
operations with a security requirement refuse a missing token; unsupported methods 405.
On top of those, `contract_error_shape`: every non-2xx body is the contract's `{"code",
"detail"[, "fields"]}`. Bounded and derandomized for CI: FUZZ_EXAMPLES examples per
operation.
"""

from __future__ import annotations

import os
import zlib

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from schemathesis.checks import CHECKS, is_check_class, load_all_checks
from schemathesis.core.failures import Failure
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import RejectedPositiveData

from billing.models import Extension, Tier
from chat.models import Message
from halobestie.testing.fixtures import make_client, make_mitra, send_message, start_trial_session
from notifications.models import Device
from pairing.models import PairingRequest
from reliability.figures import record

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CASES: dict[str, int] = {}  # operation label (role) -> cases sent


class InTestWSGI:
    """Django's WSGI app, minus the per-request `close_old_connections` (as Django's own
    test client does): the fuzzer's requests share the test's transaction."""

    def __init__(self):
        self.app = get_wsgi_application()

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.app(environ, start_response)
            try:
                body = b"".join(response)
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return [body]


schema = schemathesis.openapi.from_wsgi("/api/schema/", InTestWSGI())
# Unknown query parameters are ignored, as HTTP APIs do; the fuzzer is not to invent them.
schema.config.generation.update(
    max_examples=FUZZ_EXAMPLES, deterministic=True, allow_extra_parameters=False, database="none"
)

# What no schema can say: whether a well-formed id names a row of this database (a tier id,
# the message an `after`/`before` page starts from), and that `after`, `before` and
# `after_seq` exclude each other. A 400 `validation_error` naming only these fields is the
# API being right. Everything else a schema can say, it says: no other refusal of a
# schema-valid request, and no acceptance of a schema-invalid one, is forgiven (the input
# fields are strict, see halobestie/fields.py).
REFERENCE_FIELDS = {"tier_id", "after", "before", "after_seq"}

# Every built-in check, as `schemathesis run --checks all` does (the stateful ones, which
# need links between operations, aside), plus the contract's error shape below.
load_all_checks()
ALL_CHECKS = [check for check in CHECKS.get_all() if not is_check_class(check)]


@schema.hook
def filter_failure(ctx, failure, case, response):
    if isinstance(failure, RejectedPositiveData) and response.status_code == 400:
        try:
            body = response.json()
        except ValueError:
            return True
        fields = set(body.get("fields") or {}) if isinstance(body, dict) else set()
        return not (body.get("code") == "validation_error" and fields and fields <= REFERENCE_FIELDS)
    return True


@schemathesis.check
def contract_error_shape(ctx, response, case):
    """api.md: a non-2xx answer is {"code": snake_case, "detail": str[, "fields": {f: [msg]}]}."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        raise Failure(
            operation=case.operation.label,
            title="Error answer is not JSON",
            message=f"{response.status_code}: {response.text[:200]!r}",
        ) from None
    problems = []
    if not isinstance(body, dict):
        problems.append("body is not an object")
    else:
        code, detail = body.get("code"), body.get("detail")
        if not (isinstance(code, str) and code and code.replace("_", "a").isalnum() and code == code.lower()):
            problems.append(f"code {code!r} is not snake_case")
        if not isinstance(detail, str) or not detail:
            problems.append("detail missing")
        if "fields" in body:
            fields = body["fields"]
            if not (
                isinstance(fields, dict)
                and all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in fields.values())
            ):
                problems.append("fields is not {field: [message]}")
        if response.status_code == 400 and body.get("code") == "validation_error" and "fields" not in body:
            # Malformed JSON bodies have no fields; that is allowed by api.md.
            pass
    if problems:
        raise Failure(
            operation=case.operation.label,
            title="Error answer breaks the contract's shape",
            message=f"{response.status_code} {body!r}: {'; '.join(problems)}",
        )
    return None


# --- the world each operation is fuzzed in ------------------------------------------------


class World:
    """A client with a live session, its mitra, an offer waiting for that mitra, a pending
    extension, devices. `actor` is the signed-in caller for the role under test."""

    def __init__(self, role: str):
        self.extension_tier = Tier.objects.create(kind="extension", name="Tambah 15", minutes=15, price=25000)
        Tier.objects.create(kind="session", name="Curhat 30", minutes=30, price=50000)
        self.client = make_client("Ani", anonymous=role == "anonymous")
        self.mitra = make_mitra("Budi", online=True)
        self.session = start_trial_session(self.client, self.mitra)
        send_message(self.client, self.session["id"], "halo")
        send_message(self.mitra, self.session["id"], "halo juga")
        self.message_id = str(Message.objects.filter(session_id=self.session["id"]).last().id)
        self.own_request = str(PairingRequest.objects.get(client=self.client.user).id)
        # Another client's request, offered to the mitra (accept/decline have a target).
        other = make_client("Citra")
        r = other.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
        assert r.status_code == 201, r.content
        self.offer = r.json()["id"]
        # A pending extension on the session (only a registered client can ask).
        self.extension = None
        if role != "anonymous":
            r = self.client.api.post(
                f"/api/client/sessions/{self.session['id']}/extensions",
                {"tier_id": str(self.extension_tier.id)},
                format="json",
            )
            assert r.status_code == 201, r.content
            self.extension = r.json()["id"]
        else:
            registered = make_client("Dewi")
            s2 = start_trial_session(registered, make_mitra("Eko", online=True))
            self.extension = str(
                Extension.objects.create(
                    session_id=s2["id"],
                    tier=self.extension_tier,
                    minutes=15,
                    price=25000,
                    respond_by=PairingRequest.objects.get(client=registered.user).expires_at,
                ).id
            )
        self.actor = self.mitra if role == "mitra" else self.client
        self.fcm_token = f"fcm-{role}-" + "x" * 40
        Device.objects.create(
            fcm_token=self.fcm_token,
            platform="android",
            **({"mitra": self.mitra.user} if role == "mitra" else {"client": self.client.user}),
        )

    def real_value(self, name: str):
        return {
            "session_id": self.session["id"],
            "request_id": self.offer if self.actor is self.mitra else self.own_request,
            "extension_id": self.extension,
            "fcm_token": self.fcm_token,
        }.get(name)


def _use_real_objects(case, world: World) -> None:
    """Most cases name the caller's real objects; the rest keep the fuzzer's values."""
    params = case.path_parameters or {}
    if not params or zlib.crc32(repr(sorted(params.items())).encode()) % 4 == 0:
        return
    meta = case._meta
    if meta is not None and meta.is_negative_at(ParameterLocation.PATH):
        return
    new = dict(params)
    for name in params:
        value = world.real_value(name)
        if value is not None:
            new[name] = value
    case.path_parameters = new


def _fuzz(case, role: str, world: World) -> None:
    _use_real_objects(case, world)
    CASES[f"{case.operation.label} as {role}"] = CASES.get(f"{case.operation.label} as {role}", 0) + 1
    case.call_and_validate(
        headers={"Authorization": f"Bearer {world.actor.token}"}, checks=ALL_CHECKS,
        additional_checks=[contract_error_shape],
    )


@pytest.fixture
def world_registered(db):
    return World("client")


@pytest.fixture
def world_anonymous(db):
    return World("anonymous")


@pytest.fixture
def world_mitra(db):
    return World("mitra")


# One world per operation, shared by its examples (deliberately: state builds up as a
# real app's would). Generation is bounded by FUZZ_EXAMPLES, not by Hypothesis's clock.
FUZZ_SETTINGS = hsettings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)

APP_OPS = schema.exclude(path="/api/shared/webhooks/xendit/invoice").exclude(path="/api/shared/health")


@APP_OPS.include(path_regex=r"^/api/(client|shared)/").parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_registered_client(case, world_registered):
    _fuzz(case, "client", world_registered)


@APP_OPS.include(path_regex=r"^/api/(client|shared)/").parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_anonymous_client(case, world_anonymous):
    _fuzz(case, "anonymous", world_anonymous)


@APP_OPS.include(path_regex=r"^/api/(mitra|shared)/").parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_mitra(case, world_mitra):
    _fuzz(case, "mitra", world_mitra)


@schema.include(path="/api/shared/health").parametrize()
@FUZZ_SETTINGS
def test_fuzz_health(case, db):
    CASES[case.operation.label] = CASES.get(case.operation.label, 0) + 1
    case.call_and_validate(checks=ALL_CHECKS, additional_checks=[contract_error_shape])


@schema.include(path="/api/shared/webhooks/xendit/invoice").parametrize()
@FUZZ_SETTINGS
def test_fuzz_xendit_webhook(case, world_registered):
    """Fuzzed with the right callback token (the header is what Xendit always sends), so
    the payload parsing and the callback service are exercised, not just the 403."""
    CASES[case.operation.label] = CASES.get(case.operation.label, 0) + 1
    meta = case._meta
    if meta is None or not meta.is_negative_at(ParameterLocation.HEADER):
        case.headers = {**(case.headers or {}), "x-callback-token": settings.XENDIT_CALLBACK_TOKEN}
    # The one deliberate leniency: the callback takes Xendit's payload as it comes (a number
    # where a string is documented, say), because a 400 only makes Xendit retry a payment
    # we would then never record. Every other check holds.
    case.call_and_validate(checks=[c for c in ALL_CHECKS if c.__name__ != "negative_data_rejection"],
                           additional_checks=[contract_error_shape])


def test_fuzz_figures():
    """Records how much was fuzzed (runs after the fuzz tests of this module)."""
    if CASES:
        record(
            "schema fuzzing",
            f"{sum(CASES.values())} requests over {len(CASES)} operation/role pairs "
            f"({len({k.split(' as ')[0] for k in CASES})} operations)",
        )
