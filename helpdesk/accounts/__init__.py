"""Self-service account pages: forgotten passwords and the reset mail (above auth and mail)."""
