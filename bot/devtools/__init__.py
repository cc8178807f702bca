"""Development tools, not production code: the fake Slack Web API and the browser sandbox."""
