"""Signed webhooks: endpoints admins add, deliveries fanned out from the event stream, and
the jobs that post them (Standard Webhooks signatures, retries with back-off)."""
