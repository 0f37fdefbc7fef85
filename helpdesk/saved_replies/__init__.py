"""Saved replies (canned responses): shared and personal texts with placeholders that
agents insert into a reply, rendered for the ticket in the bounded template sandbox."""
