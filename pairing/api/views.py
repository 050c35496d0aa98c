from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.api.base import ClientAPIView, MitraAPIView
from halobestie.throttles import PairingCreateThrottle

from .. import selectors, services, shapes
from .serializers import (
    OfferSerializer,
    PairingRequestInput,
    PairingRequestSerializer,
    PresenceInput,
    PresenceSerializer,
    pairing_request_data,
)


class PresenceView(MitraAPIView):
    @extend_schema(responses=PresenceSerializer, operation_id="mitra_presence_get")
    def get(self, request):
        return Response(shapes.presence_data(services.presence_get(mitra=request.user)))

    @extend_schema(request=PresenceInput, responses=PresenceSerializer, operation_id="mitra_presence_set")
    def put(self, request):
        data = PresenceInput(data=request.data)
        data.is_valid(raise_exception=True)
        presence = services.presence_set(mitra=request.user, status=data.validated_data["status"])
        return Response(shapes.presence_data(presence))


class HeartbeatView(MitraAPIView):
    @extend_schema(request=None, responses=PresenceSerializer, operation_id="mitra_presence_heartbeat")
    def post(self, request):
        return Response(shapes.presence_data(services.presence_heartbeat(mitra=request.user)))


class ClientPairingRequestsView(ClientAPIView):
    throttle_classes = [PairingCreateThrottle]

    @extend_schema(request=PairingRequestInput, responses={201: PairingRequestSerializer},
                   operation_id="client_pairing_create")
    def post(self, request):
        data = PairingRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        pairing_request = services.pairing_request_create(
            client=request.user, tier_id=v.get("tier_id"), free_trial=v["free_trial"],
            topic=v.get("topic") or "", prefer_previous_mitra=v["prefer_previous_mitra"],
        )
        return Response(pairing_request_data(pairing_request), status=status.HTTP_201_CREATED)


class ClientPairingRequestView(ClientAPIView):
    @extend_schema(responses=PairingRequestSerializer, operation_id="client_pairing_get")
    def get(self, request, request_id):
        return Response(pairing_request_data(services.pairing_request_get(client=request.user, request_id=request_id)))


class ClientPairingCancelView(ClientAPIView):
    @extend_schema(request=None, responses=PairingRequestSerializer, operation_id="client_pairing_cancel")
    def post(self, request, request_id):
        pairing_request = services.pairing_request_cancel(client=request.user, request_id=request_id)
        return Response(pairing_request_data(pairing_request))


class MitraOffersView(MitraAPIView):
    @extend_schema(responses=OfferSerializer(many=True), operation_id="mitra_offers")
    def get(self, request):
        return Response([shapes.offer_data(r) for r in selectors.open_offers_for(request.user)])


class MitraDeclineView(MitraAPIView):
    @extend_schema(request=None, responses={204: None}, operation_id="mitra_offer_decline")
    def post(self, request, request_id):
        services.pairing_request_decline(request_id=request_id, mitra=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
