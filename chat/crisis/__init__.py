"""Crisis-signal detector: a data lexicon (data/lexicon.txt) and a small in-memory matcher.

    from chat.crisis import detect
    hit = detect(message_body)      # Detection(level="high", categories=("suicide",)) or None

The lexicon compiles once at import; ``reload_lexicon()`` swaps in an edited file. See README.md.
"""

from .lexicon import LexiconError
from .matcher import Detection, current_lexicon, detect, reload_lexicon
from .normalize import normalize

__all__ = ["Detection", "LexiconError", "current_lexicon", "detect", "normalize", "reload_lexicon"]
