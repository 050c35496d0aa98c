"""The two web processes, configured in one place: `python -m halobestie.serve web|internal`.

The Procfile, the Dockerfile and the embedded mode all start uvicorn through `options()`,
so the production flags cannot drift apart:

- `--ws websockets-sansio`: the successor of the deprecated `websockets` implementation
  (measured in bench/, see README);
- per-message deflate off, frames up to 1 MiB (the consumer refuses anything over 64 KiB
  with an `error` frame, not a dropped socket);
- proxy headers believed only from `TRUSTED_PROXIES` (the load balancers), so no client can
  pick its own address or scheme by sending `X-Forwarded-For`.
"""

from __future__ import annotations

import argparse
import os

APPS = {
    "web": ("halobestie.asgi:application", "PORT", 8000),
    "internal": ("halobestie.asgi_internal:application", "INTERNAL_PORT", 8001),
}

WS_IMPLEMENTATION = "websockets-sansio"


def options(entrypoint: str, **overrides) -> dict:
    """uvicorn.Config keyword arguments for `web` or `internal`."""
    from django.conf import settings

    app, port_var, default_port = APPS[entrypoint]
    opts = {
        "app": app,
        "host": os.environ.get("HOST", "0.0.0.0"),  # noqa: S104 - a container listens on all interfaces
        "port": int(os.environ.get(port_var, default_port)),
        "lifespan": "off",
        "ws": WS_IMPLEMENTATION,
        "ws_per_message_deflate": False,
        "ws_max_size": 1 << 20,
        "proxy_headers": True,
        "forwarded_allow_ips": ",".join(settings.TRUSTED_PROXIES),
        "access_log": False,
        "log_level": os.environ.get("UVICORN_LOG_LEVEL", "info"),
    }
    if entrypoint == "web" and os.environ.get("WEB_CONCURRENCY"):
        opts["workers"] = int(os.environ["WEB_CONCURRENCY"])
    opts.update(overrides)
    return opts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m halobestie.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("entrypoint", choices=sorted(APPS))
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.production")
    import uvicorn

    uvicorn.run(**options(args.entrypoint))


if __name__ == "__main__":
    main()
