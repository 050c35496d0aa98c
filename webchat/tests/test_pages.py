"""The web chat's pages: neutral, strict CSP, no inline code, every asset our own, only
on the public entrypoint; the development sign-in only where emulator tokens are accepted."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client as DjangoClient
from django.test import override_settings

from halobestie.embedded import banner

STATIC = Path(__file__).resolve().parent.parent / "static" / "webchat"
FIREBASE = {"apiKey": "AIza-test", "authDomain": "halobestie-prod.firebaseapp.com", "projectId": "halobestie-prod"}


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.inline_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if self.tags and self.tags[-1][0] == "script" and data.strip():
            self.inline_script = True


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def csp(response) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in response["Content-Security-Policy"].split("; ")}


@pytest.mark.parametrize("path,role", [("/chat/", "client"), ("/mitra/", "mitra")])
def test_page_is_neutral_strict_and_self_contained(path, role):
    r = DjangoClient().get(path)
    assert r.status_code == 200
    html = r.content.decode()
    assert re.search(r"<title>Catatan Harian</title>", html) and "Halo Bestie" not in html.split("</head>")[0]
    policy = csp(r)
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", "ws://testserver"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert "unsafe" not in r["Content-Security-Policy"]
    assert r["Cache-Control"] == "no-store" and r["Referrer-Policy"] == "no-referrer"
    tags = parse(html)
    assert not tags.inline_script
    assert not any(tag == "style" or "style" in attrs or any(a.startswith("on") for a in attrs) for tag, attrs in tags.tags)
    assets = [attrs.get("src") or attrs.get("href") for tag, attrs in tags.tags
              if tag in ("script", "link") and (attrs.get("src") or attrs.get("href"))]
    assert assets and all(a.startswith("/static/webchat/") for a in assets), assets
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
    config = json.loads(next(attrs["content"] for tag, attrs in tags.tags if attrs.get("name") == "webchat-config"))
    assert config == {"role": role, "auth": "dev", "exit_url": "/bacaan/merawat-tanaman/", "project_id": "demo-halobestie"}
    assert not r.cookies  # the pages set nothing


@override_settings(WEBCHAT_DEV_SIGN_IN=False, WEBCHAT_FIREBASE=FIREBASE)
def test_firebase_mode_allows_exactly_firebase_auth_hosts():
    r = DjangoClient().get("/chat/", secure=True)
    policy = csp(r)
    assert policy["script-src"] == ["'self'", "https://apis.google.com", "https://www.google.com/recaptcha/",
                                    "https://www.gstatic.com/recaptcha/"]
    assert policy["connect-src"] == ["'self'", "wss://testserver", "https://identitytoolkit.googleapis.com",
                                     "https://securetoken.googleapis.com"]
    assert policy["frame-src"][0] == "https://halobestie-prod.firebaseapp.com"
    assert policy["style-src"] == ["'self'"]
    config = json.loads(next(a["content"] for t, a in parse(r.content.decode()).tags if a.get("name") == "webchat-config"))
    assert config["auth"] == "firebase" and config["firebase"] == FIREBASE and "project_id" not in config
    assert "Mode pengembangan" not in r.content.decode()


def test_quick_exit_page_is_harmless_and_wipes_site_data():
    r = DjangoClient().get("/bacaan/merawat-tanaman/")
    assert r.status_code == 200
    assert "<title>Tips Merawat Tanaman Hias</title>" in r.content.decode()
    assert r["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert r["Cache-Control"] == "no-store"


@pytest.mark.urls("halobestie.urls_internal")
@pytest.mark.django_db
def test_not_on_the_internal_entrypoint():
    for path in ("/chat/", "/mitra/", "/bacaan/merawat-tanaman/"):
        assert DjangoClient().get(path).status_code == 404


def test_only_get():
    assert DjangoClient().post("/chat/").status_code == 405


def test_our_scripts_import_only_our_own_files():
    for path in (STATIC / "js").glob("*.js"):
        text = path.read_text()
        for target in re.findall(r"""(?:import|from)\s*\(?\s*["']([^"']+)["']""", text):
            assert target.startswith(("./", "../vendor/firebase/")), (path.name, target)
        code = re.sub(r"^\s*//.*$", "", text, flags=re.M)  # comments may name what the code never does
        assert "localStorage" not in code and "sessionStorage" not in code and "indexedDB" not in code, path.name
        assert "document.cookie" not in code and "innerHTML" not in code, path.name


def test_vendored_firebase_sdk_is_ours_with_its_licence():
    vendor = STATIC / "vendor" / "firebase"
    assert "Apache License" in (vendor / "LICENSE").read_text()
    auth = (vendor / "firebase-auth.js").read_text()
    assert 'from"./firebase-app.js"' in auth and "gstatic.com/firebasejs" not in auth
    assert "SDK_VERSION" in (vendor / "firebase-app.js").read_text()


def test_dev_run_prints_the_web_client_addresses():
    text = banner("127.0.0.1", 8000, 8001)
    assert "http://127.0.0.1:8000/chat/" in text and "http://127.0.0.1:8000/mitra/" in text
    assert "development sign-in" in text
