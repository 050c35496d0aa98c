"""Base views for the app API: one per audience, so each view only says what it does."""

from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from halobestie.throttles import SignInAddressThrottle, SignInThrottle, SignInTokenThrottle

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
    """The sign-in endpoints: limited per verified user (after auth), and per token and a
    flood ceiling per address *before* the token is verified."""

    authentication_classes = [TokenOnlyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [SignInThrottle]
    pre_auth_throttle_classes = [SignInAddressThrottle, SignInTokenThrottle]

    def perform_authentication(self, request):
        for throttle_class in self.pre_auth_throttle_classes:
            throttle = throttle_class()
            if not throttle.allow_request(request, self):
                self.throttled(request, throttle.wait())
        super().perform_authentication(request)
