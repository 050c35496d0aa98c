"""Session, message and transcript endpoints; the same views serve both apps."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from accounts.api.base import ClientAPIView, MitraAPIView
from halobestie.throttles import MessageSendThrottle

from .. import selectors
from ..services import lifecycle
from ..services.feedback import feedback_leave
from ..services.messages import message_send
from .serializers import (
    EndInput,
    FeedbackInput,
    FeedbackSerializer,
    MessageInput,
    MessagePageSerializer,
    MessageSerializer,
    SessionPageSerializer,
    SessionSerializer,
    TranscriptSerializer,
    message_data,
    session_data,
)

STATE_PARAM = OpenApiParameter("state", str, enum=["live", "past"], required=False)
LIMIT_PARAM = OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 200}, required=False,
                               description="1..200, default 50")
PAGE_PARAMS = [
    OpenApiParameter("after_seq", {"type": "integer", "minimum": 0}, required=False,
                     description="Catch-up: the messages with `seq` greater than this, in order (0: from the start). "
                                 "`next` is then the seq to pass as `after_seq` for the following page."),
    OpenApiParameter("after", OpenApiTypes.UUID, required=False,
                     description="message id: the messages after it (`next` is a message id)"),
    OpenApiParameter("before", OpenApiTypes.UUID, required=False,
                     description="message id: the `limit` messages just before it, scrolling back"),
    LIMIT_PARAM,
]


class _Role:
    role = ""


class SessionListView(_Role):
    @extend_schema(parameters=[STATE_PARAM, OpenApiParameter("cursor", str, required=False), LIMIT_PARAM],
                   responses=SessionPageSerializer)
    def get(self, request):
        rows, next_cursor = selectors.sessions_page(
            request.user, state=request.query_params.get("state"), cursor=request.query_params.get("cursor"),
            limit=selectors.parse_limit(request.query_params.get("limit")),
        )
        return Response({"results": [session_data(s, self.role) for s in rows], "next": next_cursor})


class SessionDetailView(_Role):
    @extend_schema(responses=SessionSerializer)
    def get(self, request, session_id):
        return Response(session_data(selectors.session_for(request.user, session_id), self.role))


class SessionEndView(_Role):
    @extend_schema(request=EndInput, responses=SessionSerializer)
    def post(self, request, session_id):
        data = EndInput(data={} if request.data is None else request.data)  # a body, if any, is an object
        data.is_valid(raise_exception=True)
        selectors.session_for(request.user, session_id)
        session = lifecycle.session_end(session_id=session_id, by=request.user,
                                        reason=data.validated_data.get("reason", ""))
        return Response(session_data(session, self.role))


class MessagesView(_Role):
    throttle_classes = [MessageSendThrottle]

    def get_throttles(self):
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(parameters=PAGE_PARAMS, responses=MessagePageSerializer)
    def get(self, request, session_id):
        session = selectors.session_for(request.user, session_id)
        q = request.query_params
        rows, next_cursor = selectors.messages_page(
            session, after=q.get("after"), before=q.get("before"), after_seq=q.get("after_seq"),
            limit=selectors.parse_limit(q.get("limit")))
        return Response({"results": [message_data(m) for m in rows], "next": next_cursor})

    @extend_schema(request=MessageInput, responses={201: MessageSerializer, 200: MessageSerializer})
    def post(self, request, session_id):
        data = MessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        message, created = message_send(session_id=session_id, sender=request.user, **data.validated_data)
        return Response(message_data(message), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class TranscriptView(_Role):
    @extend_schema(responses=TranscriptSerializer)
    def get(self, request, session_id):
        session = selectors.session_for(request.user, session_id)
        return Response({"session": session_data(session, self.role),
                         "messages": [message_data(m) for m in selectors.transcript_messages(session)]})


class FeedbackView(ClientAPIView):
    role = "client"

    @extend_schema(request=FeedbackInput, responses={201: FeedbackSerializer}, operation_id="client_session_feedback")
    def post(self, request, session_id):
        data = FeedbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        fb = feedback_leave(client=request.user, session_id=session_id, **data.validated_data)
        return Response({"rating": fb.rating, "comment": fb.comment, "created_at": fb.created_at.isoformat()},
                        status=status.HTTP_201_CREATED)


# Both GETs (list and detail) would otherwise get the same derived operationId.
# One explicit view class per operation and role (the role decides the caller's scope and
# the shape each side sees). Operation ids are the role-prefixed names the apps generate.

@extend_schema_view(get=extend_schema(operation_id="client_sessions_list"))
class ClientSessionListView(SessionListView, ClientAPIView):
    role = "client"


@extend_schema_view(get=extend_schema(operation_id="client_session_retrieve"))
class ClientSessionDetailView(SessionDetailView, ClientAPIView):
    role = "client"


class ClientSessionEndView(SessionEndView, ClientAPIView):
    role = "client"


class ClientMessagesView(MessagesView, ClientAPIView):
    role = "client"


class ClientTranscriptView(TranscriptView, ClientAPIView):
    role = "client"


@extend_schema_view(get=extend_schema(operation_id="mitra_sessions_list"))
class MitraSessionListView(SessionListView, MitraAPIView):
    role = "mitra"


@extend_schema_view(get=extend_schema(operation_id="mitra_session_retrieve"))
class MitraSessionDetailView(SessionDetailView, MitraAPIView):
    role = "mitra"


class MitraSessionEndView(SessionEndView, MitraAPIView):
    role = "mitra"


class MitraMessagesView(MessagesView, MitraAPIView):
    role = "mitra"


class MitraTranscriptView(TranscriptView, MitraAPIView):
    role = "mitra"


class MitraOfferAcceptView(MitraAPIView):
    """Accepting an offer creates the session, so chat (the session's owner) answers it;
    the path stays under the mitra's pairing requests."""

    @extend_schema(request=None, responses={201: SessionSerializer}, operation_id="mitra_offer_accept")
    def post(self, request, request_id):
        session = lifecycle.session_start_from_offer(request_id=request_id, mitra=request.user)
        return Response(session_data(session, "mitra"), status=status.HTTP_201_CREATED)
