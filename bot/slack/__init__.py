"""Block Kit builders: pure functions from view objects (``views``) to message and view dicts,
sharing the helpers in ``kit``; and the Slack ids (``ids``) the handlers answer.
"""
