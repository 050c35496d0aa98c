"""Measure what a build step would buy the web client (README, "Front-end tools").

    .venv/bin/python -m webchat.measure [--esbuild PATH] [--runs 5]

Serves the client page from a local HTTP server — as shipped (plain ES modules with
`modulepreload` hints, no build), without the hints, and as an esbuild bundle (minified,
split per sign-in) — and loads each in headless Chromium over an emulated mobile link until the sign-in screen is usable. Also prints the bytes sent, raw
and gzipped. esbuild is only needed for the comparison (`npm install esbuild` anywhere).
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
from pathlib import Path

import django

STATIC = Path(__file__).resolve().parent / "static" / "webchat"
PROFILES = {"3G (300 ms RTT, 750 kbit/s)": (300, 750), "4G (150 ms RTT, 1.6 Mbit/s)": (150, 1600)}
READY = """new MutationObserver((_, obs) => {
  if (document.querySelector('form button.primary')) { window.__ready = performance.now(); obs.disconnect(); }
}).observe(document, {subtree: true, childList: true});"""


def page_html() -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halobestie.settings.local")
    django.setup()
    from django.test import Client

    return Client().get("/chat/", HTTP_HOST="127.0.0.1").content.decode()


def sizes(paths: list[Path]) -> tuple[int, int]:
    raw = sum(p.stat().st_size for p in paths)
    gz = sum(len(gzip.compress(p.read_bytes(), 9)) for p in paths)
    return raw, gz


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = lambda *a, **k: Quiet(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def load_times(url: str, runs: int, rtt: int, kbps: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    from halobestie.testing.browser import CHROMIUM, CHROMIUM_ARGS

    times = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 360, "height": 740})
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": rtt,
                     "downloadThroughput": kbps * 1000 / 8, "uploadThroughput": kbps * 1000 / 8})
            page.add_init_script(READY)
            page.goto(url, wait_until="commit")
            page.wait_for_function("window.__ready !== undefined", timeout=60_000)
            times.append(page.evaluate("window.__ready"))
            context.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--esbuild", default=shutil.which("esbuild") or "")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    html = page_html()
    from webchat.assets import STATIC as ROOT
    from webchat.assets import preload_paths

    graph = [ROOT / p for p in preload_paths("client", "dev")]
    css = [STATIC / "css" / "webchat.css", STATIC / "icon.svg"]
    raw, gz = sizes(graph + css)
    print(f"as shipped: {len(graph)} ES modules + CSS + icon = {len(graph) + 2} files, {raw:,} B raw, {gz:,} B gzipped")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(STATIC, root / "static" / "webchat")
        (root / "chat").mkdir()
        (root / "chat" / "index.html").write_text(html)
        variants = {"as shipped: ES modules + modulepreload": "/chat/"}
        (root / "nohints").mkdir()  # the same page without the preload hints
        bare = re.sub(r'<link rel="modulepreload"[^>]*>\s*', "", html)
        (root / "nohints" / "index.html").write_text(bare)
        variants["ES modules, no preload hints"] = "/nohints/"
        if args.esbuild:
            # Code splitting keeps the two sign-ins apart, as the modules do: development
            # mode must not fetch the Firebase SDK (without it the bundle pulls it in eagerly).
            out = root / "static" / "webchat" / "bundle"
            subprocess.run([args.esbuild, str(STATIC / "js" / "client.js"), "--bundle", "--minify", "--format=esm",
                            "--splitting", "--external:../vendor/*",
                            f"--outdir={out}", "--log-level=warning"], check=True)
            fetched = [out / "client.js", *[p for p in out.glob("*.js") if "auth-dev" in p.name or "chunk" in p.name]]
            b_raw, b_gz = sizes(fetched + css)
            print(f"esbuild bundle, minified, split: {len(fetched)} scripts + CSS + icon = {len(fetched) + 2} files, "
                  f"{b_raw:,} B raw, {b_gz:,} B gzipped")
            (root / "bundle").mkdir()
            (root / "bundle" / "index.html").write_text(bare.replace("/js/client.js", "/bundle/client.js"))
            variants["esbuild bundle"] = "/bundle/"
        server, port = serve(root)
        try:
            for profile, (rtt, kbps) in PROFILES.items():
                for name, path in variants.items():
                    t = load_times(f"http://127.0.0.1:{port}{path}", args.runs, rtt, kbps)
                    print(f"{profile:28} {name:38} sign-in usable after median {statistics.median(t):6.0f} ms "
                          f"(min {min(t):.0f}, max {max(t):.0f}, {len(t)} runs)")
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
