"""Notifications for agents: in the app (the bell) and by mail, each kind switchable."""
