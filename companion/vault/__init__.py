"""The encrypted vault (format v1, specified in docs/design/vault-format.md)."""

from companion.vault.ref import VaultRef
from companion.vault.vault import FlushPolicy, Held, PutResult, Vault

__all__ = ["FlushPolicy", "Held", "PutResult", "Vault", "VaultRef"]
