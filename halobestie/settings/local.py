"""Development and the embedded mode: DEBUG on, Firebase emulator on, sandbox payments."""

import os

os.environ.setdefault("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")

from .base import *  # noqa: E402,F403
from .base import env  # noqa: E402

DEBUG = env.bool("DEBUG", default=True)
FIREBASE_AUTH_EMULATOR_HOST = os.environ["FIREBASE_AUTH_EMULATOR_HOST"]
WHITENOISE_USE_FINDERS = True
