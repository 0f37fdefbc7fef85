"""Mail in: every received message (IMAP poll, SMTP gateway, contact form) stored raw,
parsed and classified, then made a ticket, a threaded reply, a recorded bounce or
unsubscribe, an auto-reply, or a quarantined message with its reason.

It builds on the lower packages (mail for transport and parsing; tickets, customers and
campaigns for what a message becomes); none of them imports it.
"""
