"""The kernel: settings, errors, text cleaning and escaping, the clock, the marketplace's words.

Imported by every layer; imports nothing of the project and no database or Slack library.
"""
