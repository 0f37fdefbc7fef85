"""Mail in and out: parsing, the IMAP poller, the SMTP gateway and sink, outbound sending."""
