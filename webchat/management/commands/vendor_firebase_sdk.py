"""Refresh the vendored Firebase Web SDK (app + auth ESM builds) from the npm registry.

The builds in the package import each other from Google's CDN; we rewrite that one import
to the file beside it, so the browser never fetches a script from anyone but us.
Run it only to upgrade; the files are committed (no build step at install or run time).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

VENDOR = Path(__file__).resolve().parents[2] / "static" / "webchat" / "vendor" / "firebase"
FILES = ("firebase-app.js", "firebase-auth.js")
APACHE = Path("/usr/share/common-licenses/Apache-2.0")


class Command(BaseCommand):
    help = "Vendor firebase-app.js and firebase-auth.js from the npm package `firebase`."

    def add_arguments(self, parser):
        parser.add_argument("--sdk-version", default="13.2.0")

    def handle(self, *args, sdk_version: str, **options):
        version = sdk_version
        with tempfile.TemporaryDirectory() as tmp:
            try:
                subprocess.run(["npm", "pack", f"firebase@{version}", "--silent"], cwd=tmp, check=True,
                               capture_output=True, text=True, timeout=300)
            except (OSError, subprocess.CalledProcessError) as exc:
                raise CommandError(f"npm pack failed: {exc}") from None
            archive = next(Path(tmp).glob("firebase-*.tgz"))
            with tarfile.open(archive) as tar:
                for name in FILES:
                    member = tar.extractfile(f"package/{name}")
                    text = member.read().decode()
                    text = re.sub(r"https://www\.gstatic\.com/firebasejs/[\d.]+/(firebase-[a-z]+\.js)", r"./\1",
                                  text)
                    text = re.sub(r"\n//# sourceMappingURL=.*$", "\n", text)
                    if "gstatic.com/firebasejs" in text:
                        raise CommandError(f"{name} still imports from the CDN")
                    VENDOR.mkdir(parents=True, exist_ok=True)
                    (VENDOR / name).write_text(text)
        if APACHE.exists():
            shutil.copyfile(APACHE, VENDOR / "LICENSE")
        (VENDOR / "README.md").write_text(
            f"Firebase JavaScript SDK {version} (npm package `firebase`, Apache License 2.0, Copyright Google "
            "LLC): the ESM builds `firebase-app.js` and `firebase-auth.js`, unmodified except that the auth "
            "build imports `./firebase-app.js` instead of Google's CDN and the source-map comments are "
            "removed. Refresh with `manage.py vendor_firebase_sdk --sdk-version X.Y.Z`. Licence: LICENSE.\n")
        self.stdout.write(f"Vendored firebase {version} into {VENDOR}")
