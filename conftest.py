"""Shared fixtures: named actors, tokens, API clients. See halobestie/testing/."""

from halobestie.testing.fixtures import *  # noqa: F401,F403
