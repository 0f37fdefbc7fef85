"""The event stream: one row per change other systems may care about, written in the same
transaction as the change (a transactional outbox). Webhooks read it; features write it."""
