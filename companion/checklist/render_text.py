"""Markdown and HTML renderings of a checklist: the same content as the PDF, for a screen or a
notes app (Markdown ``- [ ]`` boxes tick in most editors) and for a browser's print dialog.

Text that came from the phone (its name, apps' names and usage strings) is escaped like any other
text; the HTML page loads nothing from anywhere (a content security policy says so) and prints
with its own stylesheet, on the paper size asked for.
"""

from __future__ import annotations

import html
import re

from companion.checklist.model import Checklist, GroupBlock, Step

PATH_SEPARATOR = " \u203a "  # single right-pointing angle quotation mark
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_MD_LINE_START = re.compile(r"^(\d*)([#>+=.)-])")


def render_markdown(checklist: Checklist) -> str:
    """The checklist as Markdown: one ``- [ ]`` line per step, path and reason indented below."""
    out = [f"# {_md(checklist.title)}", "", _md(checklist.subtitle), "", _md(checklist.intro), ""]
    if checklist.notice:
        out += [f"> **{_md(checklist.notice)}**", ""]
    for section in checklist.sections:
        out += [f"## {_md(section.title)}", "", f"*{_md(section.intro)}*", ""]
        for block in section.blocks():
            if isinstance(block, GroupBlock):
                out += _md_group(block)
                continue
            out.append(f"- [ ] **{_md(block.action)}**  ")
            where = _where(block)
            if where:
                out.append(f"  {_md(where)}  ")
            why = _md(block.why)
            if block.link:
                why += f" ([{_md(block.link.title)}]({block.link.url}))"
            out.append(f"  {why}")
        out.append("")
    out += ["---", "", f"*{_md(checklist.footnote)}*", ""]
    return "\n".join(out)


def render_html(checklist: Checklist, *, paper: str = "a4") -> str:
    """A standalone page with a print stylesheet; checkboxes tick on screen and print empty."""
    size = "A4" if paper == "a4" else "letter"
    parts = [
        "<!doctype html>",
        f'<html lang="{checklist.lang}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="companion">',
        f"<title>{_h(checklist.title)} · {_h(checklist.subtitle)}</title>",
        f"<style>{_CSS % size}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{_h(checklist.title)}</h1>",
        f'<p class="subtitle">{_h(checklist.subtitle)}</p>',
        f'<p class="intro">{_h(checklist.intro)}</p></header>',
    ]
    if checklist.notice:
        parts.append(f'<p class="notice" role="note">{_h(checklist.notice)}</p>')
    for section in checklist.sections:
        parts += [
            f'<section id="{_h(section.key)}">',
            f"<h2>{_h(section.title)}</h2>",
            f'<p class="section-intro">{_h(section.intro)}</p>',
            '<ul class="steps">',
        ]
        parts += [
            _html_group(b) if isinstance(b, GroupBlock) else _html_step(b) for b in section.blocks()
        ]
        parts += ["</ul>", "</section>"]
    parts += [f"<footer>{_h(checklist.footnote)}</footer>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _html_step(step: Step) -> str:
    box_id = _box_id(step)
    lines = [
        f'<li><input type="checkbox" id="{box_id}">',
        f'<label for="{box_id}"><strong>{_h(step.action)}</strong></label>',
    ]
    if step.path:
        lines.append(f'<span class="path">{_h(PATH_SEPARATOR.join(step.path))}</span>')
    elif step.search:
        lines.append(f'<span class="path search">{_h(step.search)}</span>')
    why = _h(step.why)
    if step.link:
        url = _h(step.link.url)
        why += f' <a href="{url}">{_h(step.link.title)}</a><span class="url"> ({url})</span>'
    lines.append(f'<span class="why">{why}</span></li>')
    return "\n".join(lines)


def _md_group(block: GroupBlock) -> list[str]:
    group = block.group
    lines = [f"- **{_md(group.action)}**  "]
    where = PATH_SEPARATOR.join(group.path) if group.path else (group.search or "")
    if where:
        lines.append(f"  {_md(where)}  ")
    lines.append(f"  {_md(group.why)}")
    lines += [f"  - [ ] {_md(step.label or step.action)}" for step in block.steps]
    return lines


def _html_group(block: GroupBlock) -> str:
    group = block.group
    lines = [f'<li class="group"><strong>{_h(group.action)}</strong>']
    if group.path:
        lines.append(f'<span class="path">{_h(PATH_SEPARATOR.join(group.path))}</span>')
    elif group.search:
        lines.append(f'<span class="path search">{_h(group.search)}</span>')
    lines.append(f'<span class="why">{_h(group.why)}</span>')
    lines.append('<ul class="members">')
    for step in block.steps:
        box_id = _box_id(step)
        label = _h(step.label or step.action)
        lines.append(
            f'<li><input type="checkbox" id="{box_id}"><label for="{box_id}">{label}</label></li>'
        )
    lines.append("</ul></li>")
    return "\n".join(lines)


def _box_id(step: Step) -> str:
    """An HTML id from the step's key, one to one: any other character becomes _hex_."""
    return "step-" + re.sub(r"[^A-Za-z0-9-]", lambda m: f"_{ord(m.group()):x}_", step.key)


def _where(step: Step) -> str:
    return PATH_SEPARATOR.join(step.path) if step.path else (step.search or "")


def _md(text: str) -> str:
    """Text that Markdown prints as is, wherever it lands on a line."""
    return _MD_LINE_START.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", text))


def _h(text: str) -> str:
    return html.escape(text, quote=True)


_CSS = """
:root { --accent: #1a4f8b; --muted: #555; }
body { font: 11pt/1.35 -apple-system, "Helvetica Neue", Helvetica, Arial, sans-serif;
  color: #111; max-width: 46em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin: 0; }
h2 { font-size: 1.15em; margin: 1.4em 0 0.1em; border-bottom: 1px solid #ccc; }
.subtitle { color: var(--muted); margin: 0.2em 0 0.8em; }
.section-intro { color: var(--muted); font-size: 0.9em; margin: 0 0 0.5em; }
.notice { border: 1.5px solid var(--accent); padding: 0.5em 0.8em; font-weight: bold; }
.steps { list-style: none; padding: 0; margin: 0; }
.steps li { position: relative; padding: 0.35em 0 0.35em 1.9em; break-inside: avoid; }
.steps input { position: absolute; left: 0; top: 0.45em; width: 1.05em; height: 1.05em;
  margin: 0; }
.path, .why { display: block; }
.steps li.group { padding-left: 0; }
.members { list-style: none; padding: 0.3em 0 0; margin: 0; columns: 3 12em; column-gap: 1.5em; }
.members li { padding: 0.15em 0 0.15em 1.6em; }
.path { color: var(--accent); }
.search { font-style: italic; }
.why { font-size: 0.9em; }
.url { display: none; }
a { color: var(--accent); }
footer { margin-top: 2em; color: var(--muted); font-size: 0.8em; }
@page { size: %s; margin: 15mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  .steps input { appearance: none; -webkit-appearance: none; border: 1.2px solid #000;
    border-radius: 0; background: #fff; }
  a { color: inherit; text-decoration: none; }
  .url { display: inline; font-size: 0.85em; color: var(--muted); }
  h2 { break-after: avoid; }
}
"""
