"""Reports for facilitators and sponsors: statistics, CSV exports and the activity chart."""
