"""The outbox: messages owed to Slack are written in the same transaction as their cause
(``enqueue``), then delivered, retried and never sent twice (``delivery``, ``slack_calls``).
"""
