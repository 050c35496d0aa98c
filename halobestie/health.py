from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class HealthView(APIView):
    """Liveness plus the database: 503 in the contract's shape when PostgreSQL is down."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        responses={200: inline_serializer("Health", {"status": serializers.CharField()})},
        operation_id="shared_health",
    )
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - any database failure means "not healthy"
            response = Response(
                {"code": "service_unavailable", "detail": "Database unavailable.", "status": "degraded"},
                status=503,
            )
            response["Retry-After"] = "5"
            return response
        return Response({"status": "ok"})
