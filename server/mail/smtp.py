"""Composing a message and handing it to the SMTP server, with the standard library: `email` builds it once (the
bytes kept in the outbox row are the bytes sent), `smtplib` talks to the server. smtplib blocks, so `send` runs it in
a worker thread and the event loop serves other requests meanwhile; each send opens its own connection, within a
time limit, and an answer other than acceptance raises `SendFailed` with the server's reply, for the message's log."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from server.settings import SmtpServer

TIMEOUT_SECONDS = 20.0


class SendFailed(Exception):
    """The server refused the message, or could not be reached; the text says which, without the password."""


def compose(*, sender: str, to: str, subject: str, body: str, attachment_name: str, attachment: bytes,
            message_id: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message.set_content(body)
    message.add_attachment(attachment, maintype="application", subtype="pdf", filename=attachment_name)
    return message.as_bytes(policy=policy.SMTP)  # CRLF line ends, as SMTP wants them on the wire


def new_message_id(sender: str) -> str:
    return make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)


def _send_blocking(server: SmtpServer, sender: str, to: str, content: bytes) -> None:
    context = ssl.create_default_context()
    try:
        if server.security == "tls":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_SECONDS,
                                                        context=context)
        else:
            connection = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
        with connection:
            if server.security == "starttls":
                connection.starttls(context=context)
            if server.username:
                connection.login(server.username, server.password or "")
            refused = connection.sendmail(parseaddr(sender)[1], [to], content)
            if refused:
                raise SendFailed(f"refused recipients: {', '.join(refused)}")
    except smtplib.SMTPResponseException as exc:
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise SendFailed(f"{exc.smtp_code} {message}"[:500]) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}"[:500]) from None


async def send(server: SmtpServer, sender: str, to: str, content: bytes) -> None:
    await asyncio.to_thread(_send_blocking, server, sender, to, content)
