"""What differs between Linux, macOS and Windows, one small module per concern, each platform's
branch beside the others: opening files without following links (``files``), making writes
durable (``durable``), keeping secret files private (``private``).

The rest of companion calls these and never names a platform-only ``os`` attribute itself; mypy
checks the package (and all of companion) for ``linux``, ``darwin`` and ``win32`` (``.ci/run``).
Standard library only.
"""
