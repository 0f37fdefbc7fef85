"""The manager dashboard: the queue now, ticket figures over a date range, the FAQ and campaigns."""
