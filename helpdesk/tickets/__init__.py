"""Tickets: conversations with customers, built from inbound mail and answered by agents."""
