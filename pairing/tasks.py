from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def pairing_expire(request_id: str) -> bool:
    return services.pairing_request_expire(request_id=request_id)
