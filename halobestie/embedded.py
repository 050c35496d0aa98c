"""The embedded mode: both entrypoints, the timers and the in-memory channel layer in one
process, on SQLite. `python -m halobestie.embedded` (what `./dev.sh run` calls)."""

import asyncio
import os


def banner(host: str, port: int, internal_port: int) -> str:
    """What `./dev.sh run` prints: every address a newcomer needs."""
    from django.conf import settings

    mode = "embedded (SQLite, in-process layer and timers)" if settings.EMBEDDED else "Redis + Celery"
    lines = [
        f"\nHalo Bestie is running — {mode}",
        f"  App API (public):        http://{host}:{port}/api/docs/   health: /api/shared/health",
        f"  Web chat, client:        http://{host}:{port}/chat/",
        f"  Web chat, mitra:         http://{host}:{port}/mitra/   (sign in with a demo mitra phone above)",
    ]
    if settings.WEBCHAT_DEV_SIGN_IN:
        lines.append("    development sign-in: any 6-digit OTP code; production refuses this mode")
    lines += [
        f"  Control center (staff):  http://{host}:{internal_port}/   admin: /admin/",
        "  Try the API: TOKEN=$(.venv/bin/python manage.py mint_token --role client) then",
        f"    curl -X POST -H \"Authorization: Bearer $TOKEN\" http://{host}:{port}/api/client/auth/session\n",
    ]
    return "\n".join(lines)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.local")
    import django

    django.setup()
    import uvicorn
    from django.conf import settings
    from django.core.management import call_command

    from halobestie.timers import Ticker

    call_command("migrate", verbosity=0)
    call_command("seed_demo")
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    internal_port = int(os.environ.get("INTERNAL_PORT", "8001"))
    print(banner(host, port, internal_port))

    ticker = Ticker()
    if settings.EMBEDDED:
        ticker.start()

    common = {"host": host, "lifespan": "off", "ws_max_size": 1 << 20, "ws_per_message_deflate": False,
              "log_level": os.environ.get("UVICORN_LOG_LEVEL", "warning")}
    public = uvicorn.Server(uvicorn.Config("halobestie.asgi:application", port=port, **common))
    internal = uvicorn.Server(uvicorn.Config("halobestie.asgi_internal:application", port=internal_port, **common))

    async def serve():
        await asyncio.gather(public.serve(), internal.serve())

    try:
        asyncio.run(serve())
    finally:
        ticker.stop()


if __name__ == "__main__":
    main()
