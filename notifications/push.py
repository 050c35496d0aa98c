"""Push backends: FCM through firebase-admin messaging, or a log line (embedded mode).

A backend sends one push to up to `MAX_BATCH` devices and says, per device, what
happened: delivered, dead (FCM says the token will never work again: remove it), retry
(a transient FCM error: try again later) or failed (anything else: give up, log it).
Only `notifications.tasks` calls a backend; everyone else goes through the services.

FCM endpoint: firebase-admin's messaging client posts to `https://fcm.googleapis.com`.
`settings.FCM_BASE_URL` (tests: a local fake FCM server) replaces that origin; the SDK's
own request building, error parsing and `send_each` fan-out are what runs either way.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from datetime import timedelta

import requests
import requests.adapters
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from firebase_admin import _http_client, messaging
from firebase_admin import _utils as firebase_utils
from firebase_admin import exceptions as firebase_exceptions
from google.auth.credentials import AnonymousCredentials
from urllib3.util.retry import Retry

from accounts.firebase import get_app

from .texts import PushText

logger = logging.getLogger(__name__)

# The apps register FCM registration tokens (api.md `fcm_token`), which FCM v1 takes as
# `message.token`; firebase-admin 7.7 nudges towards Firebase installation ids instead,
# which would be a change of the app contract.
warnings.filterwarnings("ignore", message=r"Message\.token is deprecated", category=DeprecationWarning)

MAX_BATCH = 500  # messaging.send_each's limit per call
FCM_DEFAULT_BASE_URL = "https://fcm.googleapis.com"
ANDROID_CLICK_ACTION = "FLUTTER_NOTIFICATION_CLICK"


@dataclass(frozen=True)
class Push:
    """One push, the same for every device it goes to."""

    event: str
    data: dict[str, str]  # includes "type"
    text: PushText
    ttl_seconds: int | None = None  # None: FCM's default (4 weeks)
    collapse_id: str | None = None  # newer pushes with the same id replace older ones
    thread_id: str | None = None  # iOS groups notifications by this


@dataclass(frozen=True)
class Target:
    device_id: int
    token: str
    platform: str


@dataclass
class BatchResult:
    delivered: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry_after: float = 0.0  # the longest Retry-After FCM asked for, seconds

    def merge(self, other: BatchResult) -> None:
        self.delivered += other.delivered
        self.dead += other.dead
        self.retry += other.retry
        self.failed += other.failed
        self.retry_after = max(self.retry_after, other.retry_after)


# --- the FCM message --------------------------------------------------------------------

def build_message(push: Push, token: str) -> messaging.Message:
    """The FCM v1 message: a visible notification with the fixed text, and a data payload
    (`type` + ids) so a tap on a backgrounded app opens the right screen."""
    apns_headers = {"apns-priority": "10", "apns-push-type": "alert"}
    if push.ttl_seconds is not None:
        expires = timezone.now() + timedelta(seconds=push.ttl_seconds)
        apns_headers["apns-expiration"] = str(int(expires.timestamp()))
    if push.collapse_id:
        apns_headers["apns-collapse-id"] = push.collapse_id
    return messaging.Message(
        token=token,
        notification=messaging.Notification(title=push.text.title, body=push.text.body),
        data=dict(push.data),
        android=messaging.AndroidConfig(
            priority="high",
            ttl=push.ttl_seconds,
            collapse_key=push.collapse_id,
            notification=messaging.AndroidNotification(
                channel_id=push.text.channel,
                sound="default",
                tag=push.collapse_id,
                click_action=ANDROID_CLICK_ACTION,
                visibility="private",
            ),
        ),
        apns=messaging.APNSConfig(
            headers=apns_headers,
            payload=messaging.APNSPayload(aps=messaging.Aps(
                sound="default",
                content_available=True if push.text.background_refresh else None,
                thread_id=push.thread_id,
            )),
        ),
    )


# --- error classification ---------------------------------------------------------------

def _names_the_token(exc: firebase_exceptions.InvalidArgumentError) -> bool:
    """INVALID_ARGUMENT means a bad token or a bad payload; only the first kills the token."""
    if "registration token" in str(exc).lower():
        return True
    response = exc.http_response
    try:
        details = response.json().get("error", {}).get("details", []) if response is not None else []
    except ValueError:
        return False
    for detail in details:
        for violation in detail.get("fieldViolations", []) or []:
            if violation.get("field") == "message.token":
                return True
    return False


def _retry_after(exc: firebase_exceptions.FirebaseError) -> float:
    response = exc.http_response
    value = response.headers.get("Retry-After", "") if response is not None else ""
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


_TRANSIENT = (
    firebase_exceptions.UnavailableError,  # 503, connection refused
    firebase_exceptions.InternalError,  # 500
    firebase_exceptions.DeadlineExceededError,  # timeout
    firebase_exceptions.ResourceExhaustedError,  # 429, incl. messaging.QuotaExceededError
    firebase_exceptions.UnknownError,  # other 5xx
)


def classify(exc: Exception) -> str:
    """'dead' | 'retry' | 'failed' for one device's send error."""
    if isinstance(exc, (messaging.UnregisteredError, messaging.SenderIdMismatchError)):
        return "dead"
    if isinstance(exc, firebase_exceptions.InvalidArgumentError) and _names_the_token(exc):
        return "dead"
    if isinstance(exc, _TRANSIENT):
        return "retry"
    # APNs/third-party auth, permission, a payload FCM rejects: retrying will not help.
    return "failed"


# --- firebase-admin messaging, pointed at settings.FCM_BASE_URL -------------------------

# Celery owns retries of 5xx/429 (with back-off, and without holding a worker); the
# transport only retries a broken connection once, as the SDK does.
_TRANSPORT_RETRIES = Retry(connect=1, read=1, status=0, status_forcelist=(), allowed_methods=None,
                           raise_on_status=False)


def fcm_base_url() -> str:
    return (settings.FCM_BASE_URL or FCM_DEFAULT_BASE_URL).rstrip("/")


class _MessagingService(messaging._MessagingService):
    """firebase-admin's FCM v1 client, sending to `fcm_base_url()`.

    Registered as the app's messaging service (the SDK caches one per app), so the public
    `messaging.send_each(..., app=app)` uses it. The origin is read at each send, so a
    test's `override_settings(FCM_BASE_URL=...)` applies to an already-created service.
    """

    def __init__(self, app):
        super().__init__(app)
        if isinstance(self._credential, AnonymousCredentials):
            # Emulator mode: nothing to authenticate with. A plain session guarantees no
            # OAuth call, and that a 401 from FCM (THIRD_PARTY_AUTH_ERROR) is reported as
            # that device's error instead of google-auth failing to refresh the anonymous
            # credential and failing the whole batch.
            self._client = _http_client.JsonHttpClient(session=requests.Session(), timeout=self._client.timeout)
        self._mounted: set[str] = set()

    def _point_at(self, base: str) -> None:
        if base not in self._mounted:
            adapter = requests.adapters.HTTPAdapter(pool_connections=100, pool_maxsize=100,
                                                    max_retries=_TRANSPORT_RETRIES)
            self._client.session.mount(base, adapter)
            self._mounted.add(base)
        self._fcm_url = f"{base}/v1/projects/{self._project_id}/messages:send"

    def send(self, message, dry_run=False):
        self._point_at(fcm_base_url())
        return super().send(message, dry_run)

    def send_each(self, messages, dry_run=False):
        self._point_at(fcm_base_url())
        return super().send_each(messages, dry_run)


def messaging_app():
    """The Firebase app (emulator mode: an anonymous credential, so no OAuth call is made)
    with our messaging service registered on it."""
    app = get_app()
    service = firebase_utils.get_app_service(app, messaging._MESSAGING_ATTRIBUTE, _MessagingService)
    if not isinstance(service, _MessagingService):
        raise ImproperlyConfigured("firebase-admin messaging was initialised outside notifications.push")
    return app


# --- backends ---------------------------------------------------------------------------

class FcmBackend:
    name = "fcm"

    def send(self, push: Push, targets: list[Target]) -> BatchResult:
        if len(targets) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} devices per batch")
        result = BatchResult()
        if not targets:
            return result
        messages = [build_message(push, t.token) for t in targets]
        try:
            response = messaging.send_each(messages, app=messaging_app())
        except firebase_exceptions.FirebaseError as exc:
            # The batch as a whole could not be sent (e.g. the thread pool failed).
            logger.warning("push batch failed: type=%s devices=%d error=%s", push.event, len(targets),
                           type(exc).__name__)
            result.retry = [t.device_id for t in targets]
            return result
        errors: dict[str, int] = {}
        for target, reply in zip(targets, response.responses, strict=True):
            if reply.success:
                result.delivered.append(target.device_id)
                continue
            outcome = classify(reply.exception)
            getattr(result, outcome).append(target.device_id)
            if outcome == "retry":
                result.retry_after = max(result.retry_after, _retry_after(reply.exception))
            name = type(reply.exception).__name__
            errors[name] = errors.get(name, 0) + 1
        # A clean batch is routine (DEBUG); one with dead, retried or failed devices is not.
        level = logging.INFO if len(result.delivered) < len(targets) else logging.DEBUG
        logger.log(
            level,
            "push batch: type=%s devices=%d delivered=%d dead=%d retry=%d failed=%d errors=%s",
            push.event, len(targets), len(result.delivered), len(result.dead), len(result.retry),
            len(result.failed), errors or "-",
        )
        return result


class LogBackend:
    """Embedded mode and tests by default: says that a push would go out, nothing more
    (never the text, never a token)."""

    name = "log"

    def send(self, push: Push, targets: list[Target]) -> BatchResult:
        logger.info("push (log backend): type=%s devices=%d", push.event, len(targets))
        return BatchResult(delivered=[t.device_id for t in targets])


_BACKENDS = {"fcm": FcmBackend, "log": LogBackend}


def get_backend() -> FcmBackend | LogBackend:
    try:
        return _BACKENDS[settings.PUSH_BACKEND]()
    except KeyError:
        raise ImproperlyConfigured(f"PUSH_BACKEND must be one of {sorted(_BACKENDS)}") from None
