"""The home redirect and the admin's settings index."""
