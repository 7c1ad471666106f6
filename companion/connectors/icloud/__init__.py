"""``icloud:`` sources: an Apple ID's iCloud Photos library, through pyicloud (docs/icloud.md).

Importing this package loads no iCloud library: the registry builds connectors from
``connector.py`` (``open_icloud``), and a command gives its settings as ``options.IcloudOptions``
(``options.from_environment``). Only ``signin.py`` (signing in, the session kept private) and
``translate.py`` (pyicloud's exceptions as ours, with a hint a person can follow) import
pyicloud, when first used; ``account.py`` (the Photos database, through throttling and expired
sessions) works through them. ``download.py`` streams files on HTTP sessions of its own
(``requests``); ``keychain.py`` reads a password from the system keyring, never from a
plaintext one; ``records.py`` (CloudKit records as assets) and ``options.py`` are pure.
"""

from __future__ import annotations

from companion.connectors.icloud.options import Endpoints, IcloudOptions

__all__ = ["Endpoints", "IcloudOptions"]
