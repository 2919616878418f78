"""The outbox over REST, at /api/messages: the messages waiting to be sent by hand (no SMTP configured), each
downloadable whole (`message.eml`, to open in a mail program and send) or as its PDF; retrying a failed SMTP message.
Every message so far carries a purchase document, so reading needs purchasing.read and retrying purchasing.write; a
download by someone holding purchasing.write marks an outbox message downloaded (the first time, audited)."""

from __future__ import annotations

from email import message_from_bytes, policy
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from schemas.mail import MessageOut
from server.accounts.identity import requires
from server.actors import Who, office_who
from server.mail import service

MessageId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]


def downloader(request: Request) -> Who | None:
    """Who marks a message downloaded: someone who may send it."""
    return office_who(request) if request.user.may("purchasing.write") else None


def attachment_of(content: bytes) -> bytes:
    message = message_from_bytes(content, policy=policy.default)
    part = next(message.iter_attachments())
    return part.get_content()


class MessageController(Controller):
    path = "/api/messages"
    tags = ["Messages"]

    @get("/", guards=[requires("purchasing.read")], operation_id="list_outbox",
         summary="The outbox: messages to download and send by hand, those not downloaded yet (all=true: every one)")
    async def list_outbox(self, all: bool = False) -> list[MessageOut]:
        return await service.outbox(waiting_only=not all)

    @get("/{message_id:int}/message.eml", guards=[requires("purchasing.read")], media_type="message/rfc822",
         operation_id="download_message", summary="The whole message (recipient, subject, text, PDF attached)")
    async def eml(self, request: Request, message_id: MessageId) -> Response[bytes]:
        row = await service.download(message_id, downloader(request))
        return Response(bytes(row["content"]), media_type="message/rfc822", headers={
            "content-disposition": f'attachment; filename="{row["document"]}-{row["recipient"]}-{row["id"]}.eml"'})

    @get("/{message_id:int}/attachment.pdf", guards=[requires("purchasing.read")], media_type="application/pdf",
         operation_id="download_message_pdf", summary="The message's PDF, as it was sent")
    async def pdf(self, request: Request, message_id: MessageId) -> Response[bytes]:
        row = await service.download(message_id, downloader(request))
        return Response(attachment_of(bytes(row["content"])), media_type="application/pdf",
                        headers={"content-disposition": f'inline; filename="{row["attachment_name"]}"'})

    @post("/{message_id:int}/retry", guards=[requires("purchasing.write")], status_code=HTTP_200_OK,
          operation_id="retry_message", summary="Send a failed message again through SMTP")
    async def retry(self, request: Request, message_id: MessageId) -> MessageOut:
        return await service.retry(message_id, office_who(request))
