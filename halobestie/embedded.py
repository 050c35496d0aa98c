"""The embedded mode: both entrypoints, the timers and the in-memory channel layer in one
process, on SQLite. `python -m halobestie.embedded` (what `./dev.sh run` calls)."""

import asyncio
import os


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.local")
    import django

    django.setup()
    import uvicorn
    from django.conf import settings
    from django.core.management import call_command

    from halobestie import serve
    from halobestie.timers import Ticker

    call_command("migrate", verbosity=0)
    call_command("seed_demo")
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    internal_port = int(os.environ.get("INTERNAL_PORT", "8001"))
    mode = "embedded (SQLite, in-process layer and timers)" if settings.EMBEDDED else "Redis + Celery"
    print(f"\nHalo Bestie is running — {mode}")
    print(f"  App API (public):        http://{host}:{port}/api/docs/   health: /api/shared/health")
    print(f"  Socket protocol:         http://{host}:{port}/api/docs/sockets/")
    print(f"  Control center (staff):  http://{host}:{internal_port}/   admin: /admin/")
    print(f"  A whole session, scripted: .venv/bin/python examples/walkthrough.py --base-url http://{host}:{port}")
    print("  Try the API: TOKEN=$(.venv/bin/python manage.py mint_token --role client) then")
    print(f"    curl -X POST -H \"Authorization: Bearer $TOKEN\" http://{host}:{port}/api/client/auth/session\n")

    ticker = Ticker()
    if settings.EMBEDDED:
        ticker.start()

    # The production flags (halobestie.serve), on loopback and quieter.
    common = {"host": host, "log_level": os.environ.get("UVICORN_LOG_LEVEL", "warning")}
    public = uvicorn.Server(uvicorn.Config(**serve.options("web", port=port, **common)))
    internal = uvicorn.Server(uvicorn.Config(**serve.options("internal", port=internal_port, **common)))

    async def serve():
        await asyncio.gather(public.serve(), internal.serve())

    try:
        asyncio.run(serve())
    finally:
        ticker.stop()


if __name__ == "__main__":
    main()
