"""Messages from making to sent. An action that sends a document (an RFQ, a purchase order) makes its messages in
its own transaction (`queue_message`): whole, attachment included, and logged on the document, so nothing the buyer
asked to send can be lost once the action committed. Then, with SMTP configured, the entry point hands them to
`deliver`, outside that transaction (no lock is held while a remote server answers): each is claimed, sent from a
worker thread, and its outcome recorded and audited in a short transaction of its own. A failed message stays
`failed` with the server's answer until someone retries it; one left `sending` by a process that died is retried
the same way once its attempt is older than `STALE_ATTEMPT`. Without SMTP, a message waits in the outbox (`queued`)
until someone downloads it (`downloaded`, with who and when)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT

from schemas.mail import MessageOut
from server.accounts.audit import record_audit
from server.actors import Who
from server.db import needs_write, write_transaction
from server.errors import not_found, refuse
from server.mail import smtp
from server.mail.tables import OutboundMessage
from server.settings import mail_from_env, smtp_from_env

SMTP, OUTBOX = "smtp", "outbox"
PENDING, SENDING, SENT, FAILED, QUEUED, DOWNLOADED = "pending", "sending", "sent", "failed", "queued", "downloaded"
STALE_ATTEMPT = timedelta(seconds=120)  # well past smtp.TIMEOUT_SECONDS: no live attempt is this old
SHOWN = [c for c in OutboundMessage._meta.columns if c._meta.name != "content"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _out(row: dict[str, Any]) -> MessageOut:
    return MessageOut(**{name: row[name] for name in MessageOut.model_fields})


@needs_write
async def queue_message(*, entity: str, document: str, document_version: int, recipient: str, to_address: str,
                        subject: str, body: str, language: str, attachment_name: str, attachment: bytes,
                        who: Who) -> int:
    """The message, made whole and stored: for SMTP (`pending`, sent by `deliver` after the commit) when it is
    configured, else for the outbox (`queued`); audited on its document. Returns its id."""
    sender = mail_from_env()
    message_id = smtp.new_message_id(sender)
    content = smtp.compose(sender=sender, to=to_address, subject=subject, body=body,
                           attachment_name=attachment_name, attachment=attachment, message_id=message_id)
    channel = SMTP if smtp_from_env() is not None else OUTBOX
    inserted = await OutboundMessage.insert(OutboundMessage(
        entity=entity, document=document, document_version=document_version, recipient=recipient,
        to_address=to_address, subject=subject, language=language, attachment_name=attachment_name,
        message_id=message_id, content=content, channel=channel, status=PENDING if channel == SMTP else QUEUED,
        attempts=0, last_error="", created_by=who.name, created_at=_now(),
    )).returning(OutboundMessage.id)
    await record_audit(who, "mail", entity, document, None,
                       {"message": inserted[0]["id"], "to_address": to_address, "recipient": recipient, "channel": channel},
                       f"{recipient} <{to_address}> · {channel}")
    return inserted[0]["id"]


async def messages_of(entity: str, document: str) -> list[MessageOut]:
    """The document's message log, newest first."""
    rows = await OutboundMessage.select(*SHOWN).where(
        (OutboundMessage.entity == entity) & (OutboundMessage.document == document)
    ).order_by(OutboundMessage.id, ascending=False)
    return [_out(row) for row in rows]


async def messages_by_id(message_ids: list[int]) -> list[MessageOut]:
    if not message_ids:
        return []
    rows = await OutboundMessage.select(*SHOWN).where(OutboundMessage.id.is_in(message_ids)).order_by(OutboundMessage.id)
    return [_out(row) for row in rows]


async def outbox(*, waiting_only: bool = True, limit: int = 200) -> list[MessageOut]:
    """The outbox: messages for the buyer to download and send, those not downloaded yet (or all) first."""
    condition = OutboundMessage.channel == OUTBOX
    if waiting_only:
        condition = condition & (OutboundMessage.status == QUEUED)
    rows = await OutboundMessage.select(*SHOWN).where(condition).order_by(
        OutboundMessage.id, ascending=False).limit(limit)
    return [_out(row) for row in rows]


async def get_message(message_id: int) -> dict[str, Any]:
    row = await OutboundMessage.select().where(OutboundMessage.id == message_id).first()
    if row is None:
        raise not_found("message", str(message_id))
    return row


async def _claim(message_id: int) -> dict[str, Any] | None:
    """Takes the message for one attempt, unless another attempt has it (or it is sent): in its own transaction."""
    now = _now()
    async with write_transaction():
        claimable = (OutboundMessage.status.is_in([PENDING, FAILED])) | (
            (OutboundMessage.status == SENDING) & (OutboundMessage.attempt_started_at < now - STALE_ATTEMPT))
        claimed = await OutboundMessage.update({
            OutboundMessage.status: SENDING, OutboundMessage.attempt_started_at: now,
            OutboundMessage.attempts: OutboundMessage.attempts + 1,
        }).where((OutboundMessage.id == message_id) & (OutboundMessage.channel == SMTP) & claimable).returning(
            OutboundMessage.id)
    return await get_message(message_id) if claimed else None


async def _record_outcome(row: dict[str, Any], error: str | None, who: Who) -> None:
    async with write_transaction():
        if error is None:
            columns = {OutboundMessage.status: SENT, OutboundMessage.sent_at: _now(), OutboundMessage.last_error: ""}
        else:
            columns = {OutboundMessage.status: FAILED, OutboundMessage.last_error: error}
        await OutboundMessage.update(columns).where(OutboundMessage.id == row["id"])
        await record_audit(who, "mail_sent" if error is None else "mail_failed", row["entity"], row["document"], None,
                           {"message": row["id"], "to_address": row["to_address"], "attempts": row["attempts"],
                            "last_error": error or ""}, f"{row['recipient']} <{row['to_address']}>")


async def deliver(message_ids: list[int], who: Who) -> None:
    """Sends each message through SMTP, one at a time, and records what happened to it. An entry point of its own,
    after the action's transaction committed; it never raises for a message that failed (that is its outcome)."""
    server = smtp_from_env()
    if server is None:
        return
    sender = mail_from_env()
    for message_id in message_ids:
        row = await _claim(message_id)
        if row is None:
            continue
        try:
            await smtp.send(server, sender, row["to_address"], bytes(row["content"]))
        except smtp.SendFailed as exc:
            await _record_outcome(row, str(exc) or "failed", who)
        else:
            await _record_outcome(row, None, who)


async def retry(message_id: int, who: Who) -> MessageOut:
    """Sends a failed message again (or one whose attempt died with its process); anything else is refused."""
    row = await get_message(message_id)
    if row["channel"] != SMTP:
        raise refuse("message_in_outbox", f"Message {message_id} waits in the outbox: download it and send it yourself",
                     HTTP_409_CONFLICT, message=message_id)
    if smtp_from_env() is None:
        raise refuse("smtp_not_configured", "No SMTP server is configured (FLOORSYNC_SMTP_URL)", HTTP_409_CONFLICT)
    stale = row["status"] == SENDING and row["attempt_started_at"] < _now() - STALE_ATTEMPT
    if row["status"] not in (PENDING, FAILED) and not stale:
        raise refuse("message_not_retryable", f"Message {message_id} is {row['status']}: there is nothing to retry",
                     HTTP_409_CONFLICT, message=message_id, status=row["status"])
    await deliver([message_id], who)
    return _out(await get_message(message_id))


async def download(message_id: int, who: Who | None) -> dict[str, Any]:
    """The message (and its attachment) to hand over by hand; an outbox message downloaded by someone who may send
    (`who` given) is marked downloaded the first time, audited."""
    row = await get_message(message_id)
    if who is not None and row["channel"] == OUTBOX and row["status"] == QUEUED:
        async with write_transaction():
            marked = await OutboundMessage.update({
                OutboundMessage.status: DOWNLOADED, OutboundMessage.downloaded_by: who.name,
                OutboundMessage.downloaded_at: _now(),
            }).where((OutboundMessage.id == message_id) & (OutboundMessage.status == QUEUED)).returning(
                OutboundMessage.id)
            if marked:
                await record_audit(who, "mail_downloaded", row["entity"], row["document"], None,
                                   {"message": message_id, "to_address": row["to_address"]},
                                   f"{row['recipient']} <{row['to_address']}>")
    return row
