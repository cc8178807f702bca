"""Facilitator services: who may use /km-admin, councils, moderation, communities, audit."""
