"""Outgoing e-mail: messages with their attachment, kept whole from the moment an action makes them; sent through
SMTP when FLOORSYNC_SMTP_URL is set, else left in the office outbox for someone to download and send."""
