"""``companion cleanup``: take private shots off the phone, only once the vault holds them whole.

- ``plan.py``: which flagged library items (groups: a photo with its Live Photo movie, its edit
  and its ``.AAE``) of one source could go, and which cannot yet and why. A plain value; making
  it reads the vault and the source's listing, nothing else.
- ``review/``: the local page where the person looks at them (pictures decrypted in memory) and
  chooses; served on 127.0.0.1 behind a per-run token.
- ``remove.py``: what happens to the chosen groups, per source (a folder: moved to a quarantine
  folder; a phone on a cable: the person deletes them in Photos and ``--check`` confirms); each
  step recorded in the vault. Every executor checks each group again just before it acts.

Nothing imports this package but the command line, the use cases and the demo.
"""
