"""What each command does, as one library call: the command line parses its options into
adapters (a connector, a ``VaultRef``, progress callbacks), calls one function here and renders
what it returns; the demo calls the same functions. Nothing here prints, prompts or draws.

- ``backup``: a source into the vault (``back_up``), or what would be stored (``plan_backup``).
- ``scan``: the vault's photos, or a source's, through the sensitivity filter.
- ``checklist``: the device facts from a phone or from what the person says, the vault's count
  of flagged photos, the document in the format asked for.
- ``check``: the vault read back, verified or restored.
"""
