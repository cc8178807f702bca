"""Reference data, pure: the UK council directory (names, abbreviations, email domains)."""
