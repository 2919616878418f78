"""Outgoing messages. A row holds the whole message as it is sent (`content`, RFC 5322 bytes with its attachment), so
a retry sends what was made and a download gives it unchanged; it is logged on the document it carries (`entity`,
`document`) and read back as that document's message log."""

from piccolo.columns import Bytea, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class OutboundMessage(Table, tablename="outbound_message"):
    id = Serial(primary_key=True)
    entity = Varchar(length=40)  # rfq, purchase_order
    document = Varchar(length=40, index=True)  # its code
    document_version = Integer()  # the revision the attachment shows
    recipient = Varchar(length=40)  # the supplier's (or customer's) code
    to_address = Varchar(length=200)
    subject = Varchar(length=300)
    language = Varchar(length=2)
    attachment_name = Varchar(length=120)
    message_id = Varchar(length=200)  # the Message-ID header: a retry that the server already took is recognisable
    content = Bytea()
    # smtp: pending → sending → sent, or failed (retried on request); outbox: queued → downloaded.
    channel = Varchar(length=8)
    status = Varchar(length=12, index=True)
    attempts = Integer(default=0)
    last_error = Text(default="")
    attempt_started_at = Timestamptz(null=True, default=None)
    created_by = Varchar(length=64)
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    downloaded_by = Varchar(length=64, null=True, default=None)
    downloaded_at = Timestamptz(null=True, default=None)
