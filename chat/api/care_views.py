"""The client's care choices about a session: block its mitra, report it."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api.base import ClientAPIView
from halobestie.fields import StrictCharField

from ..models import SessionReport
from ..selectors import session_for
from ..services import care


class ReportInput(serializers.Serializer):
    reason = serializers.ChoiceField(SessionReport.Reason.values)
    note = StrictCharField(max_length=1000, required=False, allow_blank=True)


ReportSerializer = inline_serializer("SessionReport", {
    "id": serializers.UUIDField(), "session_id": serializers.UUIDField(), "reason": serializers.CharField(),
    "status": serializers.CharField(), "created_at": serializers.DateTimeField(),
})
BlockSerializer = inline_serializer("MitraBlock", {
    "session_id": serializers.UUIDField(), "mitra_id": serializers.UUIDField(), "blocked": serializers.BooleanField(),
})


class BlockMitraView(ClientAPIView):
    @extend_schema(request=None, responses={201: BlockSerializer}, operation_id="client_session_block_mitra")
    def post(self, request, session_id):
        care.mitra_block(client=request.user, session_id=session_id)
        session = session_for(request.user, session_id)
        return Response({"session_id": str(session.id), "mitra_id": str(session.mitra_id), "blocked": True},
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, operation_id="client_session_unblock_mitra")
    def delete(self, request, session_id):
        care.mitra_unblock(client=request.user, session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReportView(ClientAPIView):
    @extend_schema(request=ReportInput, responses={201: ReportSerializer}, operation_id="client_session_report")
    def post(self, request, session_id):
        data = ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = care.session_report(client=request.user, session_id=session_id, **data.validated_data)
        return Response({"id": str(report.id), "session_id": str(report.session_id), "reason": report.reason,
                         "status": report.status, "created_at": report.created_at.isoformat()},
                        status=status.HTTP_201_CREATED)
