"""``companion share``: clean copies of chosen photos and videos, for someone else.

The pictures leave the vault with nothing but the picture: no place, no date (unless asked), no
device, no maker notes, no thumbnail, no Live Photo movie (docs/share.md lists what goes and
what cannot). The scan's verdicts decide what may leave at all (``choose``); each format has its
own cleaning (``jpeg``, ``png``, ``picture``, ``video``); ``folder`` writes the copies and
``export`` ties them together.
"""

from companion.share.choose import Filters, Item, Selection, Status, select
from companion.share.export import Options, ShareReport, Written, clean_photo, export
from companion.share.folder import checked_folder

__all__ = [
    "Filters",
    "Item",
    "Options",
    "Selection",
    "ShareReport",
    "Status",
    "Written",
    "checked_folder",
    "clean_photo",
    "export",
    "select",
]
