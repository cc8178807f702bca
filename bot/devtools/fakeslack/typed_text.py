"""What Slack does to the text a member types before an app receives it.

Slack's "Formatting text for app surfaces" guide (section "Escaping text"): the three characters
``&``, ``<`` and ``>`` are sent as ``&amp;``, ``&lt;`` and ``&gt;`` in a slash command's ``text``
(with ``should_escape: false`` nothing else changes) and in a message event's ``text``. A
``plain_text_input``'s value in a ``view_submission`` arrives exactly as typed.
"""

from __future__ import annotations

__all__ = ["as_slack_sends_typed_text"]


def as_slack_sends_typed_text(text: str) -> str:
    """A command's or message's text, escaped as Slack escapes it on the way to an app."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
