"""Contracts of outgoing messages: a document sent to a supplier, as its log and the outbox show it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.common import Contract

Channel = Literal["smtp", "outbox"]
MessageStatus = Literal["pending", "sending", "sent", "failed", "queued", "downloaded"]
DocumentLanguage = Literal["zh", "en"]


class MessageOut(BaseModel):
    id: int
    entity: str = Field(description="What the message carries: rfq or purchase_order")
    document: str = Field(description="Its code")
    document_version: int = Field(description="The revision the attached PDF shows")
    recipient: str = Field(description="The supplier's code")
    to_address: str
    subject: str
    language: DocumentLanguage
    attachment_name: str
    channel: Channel = Field(description="smtp: e-mailed by the server; outbox: kept for the buyer to download")
    status: MessageStatus = Field(description="smtp: pending, sending, sent or failed (retried on request); outbox: "
                                              "queued until downloaded")
    attempts: int
    last_error: str = Field(description="The SMTP server's answer to the last failed attempt")
    created_by: str
    created_at: datetime
    sent_at: datetime | None = None
    downloaded_by: str | None = None
    downloaded_at: datetime | None = None


class SendIn(Contract):
    """Send a document to its suppliers; `lang` writes it in that language for every one, else each supplier's own
    (the sender's when the supplier has none)."""

    lang: DocumentLanguage | None = None
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="The version read; a stale one is "
                                                                                "refused (409)")


class SentOut(BaseModel):
    """The messages one send made, each with its outcome."""

    messages: list[MessageOut]
