"""companion: take your iPhone photos back before an app takes them.

The library is the product; ``companion.cli`` is a thin layer over it. Start with
``companion.backup.run_backup`` and ``companion.vault.Vault``.
"""

__version__ = "0.1.0"
