"""Satisfaction surveys (CSAT) mailed to customers after their ticket was resolved."""
