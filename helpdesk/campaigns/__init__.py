"""Campaigns: segments, sandboxed templates, sending by RQ workers, tracking and reports."""
