"""The photo-permission checklist: content as data, a builder, and renderers.

``build_checklist`` turns device facts (iOS version, installed apps and their usage keys) and the
reviewed content under ``content/`` into a ``Checklist`` of finished text in one language;
``render`` writes it as PDF, HTML or Markdown. The PDF library is imported only for PDF.
"""
