"""A real SMTP server for the tests: aiosmtpd's Controller, in a thread of the test process on a free port, keeping
every message it accepts (envelope and parsed message) and refusing, at RCPT TO, any recipient it is told to."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    recipients: list[str]
    message: EmailMessage

    @property
    def attachment(self) -> tuple[str, bytes]:
        part = next(self.message.iter_attachments())
        return part.get_filename(), part.get_content()


class MailSink:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refused: set[str] = set()  # recipients answered 550 at RCPT TO
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook name
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    def start(self) -> MailSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str, timeout: float = 5.0) -> list[Received]:
        """The messages received for `address` (waiting a little for the first)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.received if address in r.recipients]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)
