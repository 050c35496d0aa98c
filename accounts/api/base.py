"""Base views for the app API: one per audience, so each view only says what it does."""

from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from ..authentication import (
    AnyRoleAuthentication,
    ClientAuthentication,
    MitraAuthentication,
    TokenOnlyAuthentication,
)


class ClientAPIView(APIView):
    authentication_classes = [ClientAuthentication]
    permission_classes = [IsAuthenticated]


class MitraAPIView(APIView):
    authentication_classes = [MitraAuthentication]
    permission_classes = [IsAuthenticated]


class SharedAPIView(APIView):
    authentication_classes = [AnyRoleAuthentication]
    permission_classes = [IsAuthenticated]


class SignInAPIView(APIView):
    authentication_classes = [TokenOnlyAuthentication]
    permission_classes = [IsAuthenticated]
