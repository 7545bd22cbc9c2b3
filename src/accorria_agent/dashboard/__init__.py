"""The seller dashboard: a JSON API (JWT-authenticated, tenant-scoped) and one static page."""
