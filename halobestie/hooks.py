"""Hooks: how a lower app lets a higher one react, without importing it.

An app declares the facts it publishes (`SESSION_ENDED = Hook("chat.session_ended")`);
an app above it registers a receiver in its `AppConfig.ready()`. Receivers run
synchronously, in the caller's transaction and in registration order, so a reaction is
part of the same change (a session ends and its payment expires, or neither does). A
receiver that raises rolls the whole change back: hooks are for the same unit of work,
not for notifications (those leave `on_commit`).
"""

from __future__ import annotations

from collections.abc import Callable


class Hook:
    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Callable] = []

    def register(self, receiver: Callable) -> Callable:
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def __call__(self, **facts) -> list:
        """Every receiver, in order; their return values (for hooks that collect)."""
        return [receiver(**facts) for receiver in self._receivers]

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, {len(self._receivers)} receivers)"


class Provider:
    """The other half of dependency inversion: a lower app asks a question only a higher
    app can answer (pairing: "how many live sessions does this mitra hold?" — chat knows).
    The higher app registers the one object that answers (`register`), in its
    `AppConfig.ready()`; the lower app calls its functions as attributes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._impl = None

    def register(self, impl) -> None:
        self._impl = impl

    def __getattr__(self, attr: str):
        impl = self.__dict__.get("_impl")
        if impl is None:
            raise RuntimeError(f"nothing answers {self.__dict__.get('name')} (is the app installed?)")
        return getattr(impl, attr)
