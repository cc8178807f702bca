"""What runs beside the request path: the work pool for post-ack work and the replay guard."""
