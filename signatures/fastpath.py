"""The switch of the normalisation fast paths: on by default; off, every value goes the long way.

The fast paths (ASCII text, plain e-mail addresses, French phone numbers: see ``text`` and
``contact``) give the libraries' answers by construction. Turned off in a scope, every field goes
through the libraries and the word-by-word fold alone: the reference the tests and the
benchmark's digest check hold the fast paths to. Caches of pure functions stay on either way:
they cannot change an answer.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: Whether the fast paths are on here; read it with ``FAST_PATHS.get()`` (a call per value).
FAST_PATHS: ContextVar[bool] = ContextVar("idcheck_normalisation_fast_paths", default=True)


@contextmanager
def library_only() -> Iterator[None]:
    """Within this scope (this thread or task), normalise without any fast path."""
    token = FAST_PATHS.set(False)
    try:
        yield
    finally:
        FAST_PATHS.reset(token)
