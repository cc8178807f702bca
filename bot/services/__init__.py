"""Services: every rule of the marketplace lives here, once.

Functions taking a ``Session`` are the rules (the caller owns the transaction); each module's
``…Service`` class is what the Slack handlers call: it owns its transaction and answers with the
plain view objects of ``bot.slack.views``. Services never import Bolt or the Slack SDK.
"""
