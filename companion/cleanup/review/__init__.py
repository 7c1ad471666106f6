"""The local review page: the person looks at the flagged photos and chooses which go.

- ``server.py``: ``Review``, one plan served to one person on 127.0.0.1 behind a per-run token,
  until they confirm, cancel or leave it idle; ``wait()`` gives the ``Decision``.
- ``handler.py``: the requests: the token, the Host and Origin checks, the CSRF token, the
  security headers on every answer, the routes.
- ``view.py``: what the page is told about the plan (file names, days, findings in words; never a
  path or a secret) and how a confirmation is read and checked.
- ``categories.py``: each category's title and explanation in words.
- ``thumbs.py``: a small JPEG of a photo or video made in memory, never written to disk.
- ``static/``: the page itself (HTML, CSS, plain JavaScript), shipped as package data.

The review imports neither the vault's files nor a connector: the caller gives the plan, a
thumbnail function and what will happen to each group.
"""

from companion.cleanup.review.server import Review

__all__ = ["Review"]
