"""Purchase documents that go out, through HTTP against a real SMTP server (aiosmtpd, started by the test): an RFQ to
two suppliers and an approved purchase order arrive with their PDF attached, each in its supplier's language; a
recipient the mail server refuses is recorded as failed and goes out on retry; without SMTP the same send lands in
the outbox and is downloaded from there; the refusals (a supplier without an address, a draft, a user who may not
send); and the supplier's confirmation, which moves the line's expected date that order tracking shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes, policy

import httpx
import pytest

from tests.clients import Browser, signed_in
from tests.english import english_on_screen
from tests.factory import confirmed_order, make_item, pdf_text
from tests.mail_sink import MailSink
from tests.servers import Server, make_server

TODAY = date.today()
SENDER = "Purchasing <buy@floorsync.example>"


@pytest.fixture(scope="module")
def sink() -> Iterator[MailSink]:
    started = MailSink().start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def mail_server(sink: MailSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own that e-mails through the sink."""
    srv = make_server(tmp_path_factory.mktemp("smtp"), FLOORSYNC_SMTP_URL=sink.url, FLOORSYNC_MAIL_FROM=SENDER)
    yield srv
    srv.stop()
    srv.database.drop()


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.json()
    return response.json()


def suppliers_and_items(base_url: str, code: str) -> dict[str, str]:
    """Two items; a Chinese supplier (its order e-mail, Chinese documents, its own code for the gas lift) and an
    English one reached through its contact's e-mail; and one without any address."""
    planner, buyer = signed_in(base_url, "planner"), signed_in(base_url, "buyer")
    made = {"gas": make_item(planner, f"{code}-GAS", name="气压棒 Gas lift"), "mech": make_item(planner, f"{code}-MECH")}
    for key, body in (
        ("zh", {"name": "永邦五金", "language": "zh", "order_email": f"order-{code}@yongbang.example.cn".lower(),
                "items": [{"item": made["gas"], "supplier_item_code": "YB-GL-77"}]}),
        ("en", {"name": "Lift-Tec GmbH", "language": "en",
                "contacts": [{"name": "J. Weber", "email": f"weber-{code}@lift-tec.example.de".lower()}]}),
        ("none", {"name": "No address Ltd"}),
    ):
        made[key] = ok(buyer.post("/api/suppliers", json={"code": f"{code}-{key.upper()}", "currency": "CNY", **body}),
                       201)["code"]
    return made


def new_rfq(buyer: httpx.Client, made: dict, suppliers: tuple[str, ...]) -> dict:
    return ok(buyer.post("/api/rfqs", json={
        "site": "NB1", "needed_by": (TODAY + timedelta(days=20)).isoformat(), "suppliers": [made[s] for s in suppliers],
        "lines": [{"item": made["gas"], "quantity": "400"}, {"item": made["mech"], "quantity": "100"}]}), 201)


def new_po(buyer: httpx.Client, made: dict, supplier: str = "zh", approve: bool = True, **line) -> dict:
    po = ok(buyer.post("/api/purchase-orders", json={
        "supplier": made[supplier], "site": "NB1", "allow_unlisted_item": True, "lines": [
            {"item": made["gas"], "quantity": "400", "unit_price": "2.80",
             "due_date": (TODAY + timedelta(days=14)).isoformat(), **line},
            {"item": made["mech"], "quantity": "100", "unit_price": "12.50",
             "due_date": (TODAY + timedelta(days=14)).isoformat()}]}), 201)
    return ok(buyer.post(f"/api/purchase-orders/{po['code']}/approve")) if approve else po


def test_an_rfq_to_two_suppliers_and_an_approved_po_arrive_by_smtp_with_the_pdf_in_each_language(mail_server, sink, unique):
    made = suppliers_and_items(mail_server.url, unique("SND"))
    buyer = signed_in(mail_server.url, "buyer")
    rfq = new_rfq(buyer, made, ("zh", "en"))
    sent = ok(buyer.post(f"/api/rfqs/{rfq['code']}/messages", json={"version": rfq["version"]}), 201)["messages"]
    assert sorted((m["recipient"], m["channel"], m["status"], m["language"]) for m in sent) == [
        (made["en"], "smtp", "sent", "en"), (made["zh"], "smtp", "sent", "zh")]
    assert ok(buyer.get(f"/api/rfqs/{rfq['code']}"))["status"] == "sent", "sending a draft RFQ puts it out"

    chinese_address, english_address = (m["to_address"] for m in sorted(sent, key=lambda m: m["recipient"] != made["zh"]))
    [chinese], [english] = sink.to(chinese_address), sink.to(english_address)
    assert chinese.recipients == [chinese_address] and english.recipients == [english_address]
    assert chinese.mail_from == "buy@floorsync.example" and chinese.message["From"] == SENDER
    assert chinese.message["Subject"] == f"询价单 {rfq['code']}（Ningbo chair plant）"
    assert english.message["Subject"] == f"Request for quotation {rfq['code']} from Ningbo chair plant"
    name, pdf = chinese.attachment
    text = pdf_text(pdf)
    assert name == f"{rfq['code']}-{made['zh']}.pdf" and pdf.startswith(b"%PDF-")
    for words in ("询价单", "需求日期", "贵方物料编码", "YB-GL-77", made["gas"], made["mech"], "400", "100", rfq["code"],
                  "永邦五金", "版本"):
        assert words in text, (words, text)
    english_text = pdf_text(english.attachment[1])
    assert "Request for quotation" in english_text and "Needed by" in english_text and "询价单" not in english_text
    assert "YB-GL-77" not in english_text, "an item code is the supplier's own: the other supplier does not see it"
    assert "附件是我方询价单" in chinese.message.get_body(("plain",)).get_content()

    draft = new_po(buyer, made, approve=False)
    refused(buyer.post(f"/api/purchase-orders/{draft['code']}/messages"), 409, "po_not_approved")
    po = ok(buyer.post(f"/api/purchase-orders/{draft['code']}/approve"))
    [message] = ok(buyer.post(f"/api/purchase-orders/{po['code']}/messages"), 201)["messages"]
    assert (message["channel"], message["status"], message["created_by"], message["attempts"]) == ("smtp", "sent", "buyer", 1)
    received = [r for r in sink.to(chinese_address) if po["code"] in r.message["Subject"]]
    assert [r.message["Subject"] for r in received] == [f"采购订单 {po['code']}（Ningbo chair plant）"]
    text = pdf_text(received[0].attachment[1])
    for words in ("采购订单", "合计", "2370.00 CNY", "1120.00", "1250.00", "YB-GL-77", "2.8", "12.5", po["code"]):
        assert words in text, (words, text)
    log = ok(buyer.get(f"/api/purchase-orders/{po['code']}/messages"))
    assert [(m["id"], m["status"], m["to_address"]) for m in log] == [(message["id"], "sent", chinese_address)]
    trail = ok(signed_in(mail_server.url, "admin").get("/api/audit", params={"entity": "purchase_order",
                                                                            "entity_key": po["code"]}))["items"]
    assert {"mail", "mail_sent"} <= {entry["action"] for entry in trail}

    english_pdf = buyer.get(f"/api/purchase-orders/{po['code']}/pdf", params={"lang": "en"})
    assert english_pdf.headers["content-type"] == "application/pdf" and "Purchase order" in pdf_text(english_pdf.content)
    assert "采购订单" in pdf_text(buyer.get(f"/api/purchase-orders/{po['code']}/pdf").content), \
        "without a choice the PDF is in the supplier's language, whoever reads it"


def test_a_recipient_the_mail_server_refuses_is_recorded_as_failed_and_goes_out_on_retry(mail_server, sink, unique):
    made = suppliers_and_items(mail_server.url, unique("RTY"))
    buyer = signed_in(mail_server.url, "buyer")
    po = new_po(buyer, made, supplier="en")
    address = f"weber-{unique('RTY')}@lift-tec.example.de".lower()
    sink.refused.add(address)
    try:
        [failed] = ok(buyer.post(f"/api/purchase-orders/{po['code']}/messages"), 201)["messages"]
        assert (failed["status"], failed["attempts"]) == ("failed", 1) and "550" in failed["last_error"], failed
        page = Browser(mail_server.url)
        page.log_in("buyer")
        shown = page.get(f"/purchase-orders/{po['code']}").text
        page.http.close()
        assert f'id="message-{failed["id"]}" data-status="failed"' in shown and "mailbox unavailable" in shown, \
            "the log shows the mail server's answer"
    finally:
        sink.refused.discard(address)
    retried = ok(buyer.post(f"/api/messages/{failed['id']}/retry"))
    assert (retried["status"], retried["attempts"], retried["last_error"]) == ("sent", 2, "")
    assert [r.message["Message-ID"] for r in sink.to(address)] == [sink.to(address)[0].message["Message-ID"]]
    refused(buyer.post(f"/api/messages/{failed['id']}/retry"), 409, "message_not_retryable")


def test_without_smtp_the_send_lands_in_the_outbox_and_is_downloaded_from_there(server, login, browse, unique):
    made = suppliers_and_items(server.url, unique("OBX"))
    buyer = login("buyer")
    po = new_po(buyer, made)
    office = browse("buyer")
    assert office.post(f"/purchase-orders/{po['code']}/mail", {"version": str(po["version"])}).status_code == 303
    [message] = ok(buyer.get(f"/api/purchase-orders/{po['code']}/messages"))
    assert (message["channel"], message["status"], message["created_by"]) == ("outbox", "queued", "buyer")
    outbox = office.get("/outbox")
    assert outbox.status_code == 200 and f'id="outbox-{message["id"]}" data-status="queued"' in outbox.text
    assert message["id"] in [m["id"] for m in ok(login("viewer").get("/api/messages"))]

    username = unique("zh").lower()
    assert browse("admin").post("/users", [("username", username), ("display_name", "李采购"), ("roles", "buyer"),
                                           ("password", "long-enough-pw"), ("language", "zh")]).status_code == 303
    reader = browse(accept_language="zh-CN,zh;q=0.9")
    reader.log_in(username, "long-enough-pw")
    data = sorted([*(s["name"] for s in ok(buyer.get("/api/suppliers", params={"limit": 500}))["items"]),
                   *(i["name"] for i in ok(buyer.get("/api/items", params={"limit": 500}))["items"]),
                   *(m["subject"] for m in ok(buyer.get("/api/messages", params={"all": "true"}))), "buyer"], key=len,
                  reverse=True)
    for path in (f"/purchase-orders/{po['code']}", "/outbox", "/outbox?all=true"):
        shown = reader.get(path)
        assert shown.status_code == 200 and english_on_screen(shown.text, data) == [], path
    assert "发件箱" in reader.get("/outbox").text and "供应商确认" in reader.get(f"/purchase-orders/{po['code']}").text

    peeked = login("viewer").get(f"/api/messages/{message['id']}/attachment.pdf")
    assert peeked.status_code == 200 and "采购订单" in pdf_text(peeked.content)
    assert ok(buyer.get(f"/api/purchase-orders/{po['code']}/messages"))[0]["status"] == "queued", \
        "a reader who may not send it does not take it off the outbox"
    downloaded = office.get(f"/api/messages/{message['id']}/message.eml")
    assert downloaded.status_code == 200 and downloaded.headers["content-type"].startswith("message/rfc822")
    eml = message_from_bytes(downloaded.content, policy=policy.default)
    assert eml["To"] == message["to_address"] and eml["Subject"] == message["subject"]
    attachment = next(eml.iter_attachments())
    assert attachment.get_filename() == f"{po['code']}.pdf" and made["gas"] in pdf_text(attachment.get_content())
    [after] = ok(buyer.get(f"/api/purchase-orders/{po['code']}/messages"))
    assert (after["status"], after["downloaded_by"]) == ("downloaded", "buyer")
    assert message["id"] not in [m["id"] for m in ok(buyer.get("/api/messages"))]
    refused(buyer.post(f"/api/messages/{message['id']}/retry"), 409, "message_in_outbox")


def test_a_supplier_without_an_address_a_draft_and_a_user_who_may_not_send_are_refused(server, login, browse, unique):
    made = suppliers_and_items(server.url, unique("REF"))
    buyer = login("buyer")
    rfq = new_rfq(buyer, made, ("zh", "none"))
    body = refused(buyer.post(f"/api/rfqs/{rfq['code']}/messages"), 422, "supplier_no_email")
    assert body["details"]["supplier"] == made["none"]
    assert ok(buyer.get(f"/api/rfqs/{rfq['code']}"))["status"] == "draft", "an RFQ goes to all its suppliers or to none"
    assert ok(buyer.get(f"/api/rfqs/{rfq['code']}/messages")) == []
    shown = browse("buyer").post(f"/rfqs/{rfq['code']}/mail", {"version": str(rfq["version"])})
    assert shown.status_code == 422 and made["none"] in shown.text.split('role="alert"')[1].split("</div>")[0]

    po = new_po(buyer, made, approve=False)
    refused(buyer.post(f"/api/purchase-orders/{po['code']}/messages"), 409, "po_not_approved")
    approved = ok(buyer.post(f"/api/purchase-orders/{po['code']}/approve"))
    for path in (f"/api/purchase-orders/{approved['code']}/messages", f"/api/rfqs/{rfq['code']}/messages",
                 f"/api/purchase-orders/{approved['code']}/confirmation"):
        refused(login("planner").post(path, json={}), 403, "forbidden")
    assert login("planner").get(f"/api/purchase-orders/{approved['code']}/pdf").status_code == 200, \
        "reading the PDF needs purchasing.read only"


def test_the_suppliers_confirmation_moves_the_expected_date_that_tracking_shows(server, login, browse, unique):
    made = suppliers_and_items(server.url, unique("CNF"))
    buyer = login("buyer")
    order = confirmed_order(login, [("CH-ERGO", "2")])
    po = new_po(buyer, made, sales_order=order["code"])
    ordered = (TODAY + timedelta(days=14)).isoformat()
    later = (TODAY + timedelta(days=25)).isoformat()

    def bought() -> list[dict]:
        seen = ok(login("viewer").get(f"/api/sales-orders/{order['code']}/tracking"))["purchasing"]
        return [(p["purchase_order"], p["item"], p["due_date"]) for p in seen]

    assert bought() == [(po["code"], made["gas"], ordered)]
    refused(buyer.post(f"/api/purchase-orders/{po['code']}/confirmation", json={"lines": [
        {"line_no": 10, "confirmed_quantity": "400", "confirmed_date": (TODAY - timedelta(days=1)).isoformat()}]}),
        422, "confirmed_date_in_past")
    confirmed = ok(buyer.post(f"/api/purchase-orders/{po['code']}/confirmation", json={"version": po["version"], "lines": [
        {"line_no": 10, "confirmed_quantity": "350", "confirmed_date": later},
        {"line_no": 20, "confirmed_quantity": "100", "confirmed_date": ordered}]}))
    first, second = confirmed["lines"]
    assert (first["due_date"], first["ordered_due_date"], first["confirmed_quantity"], first["differs"]) == (
        later, ordered, "350", True)
    assert (second["due_date"], second["differs"], second["confirmed_by"]) == (ordered, False, "buyer")
    assert bought() == [(po["code"], made["gas"], later)], "tracking reads the line's expected date"
    page = browse("buyer").get(f"/purchase-orders/{po['code']}").text
    assert 'class="tag bad"' in page.split('id="po-line-10-confirmed"')[1].split("</td>")[0], "differs from the order"
    assert 'class="tag ok"' in page.split('id="po-line-20-confirmed"')[1].split("</td>")[0], "as ordered"
    assert ordered in page.split('id="po-line-10-confirmed"')[0].rsplit("<tr>", 1)[1], "the date as ordered, beside"

    form = {"version": str(confirmed["version"]), "confirm-10-quantity": "400", "confirm-10-date": ordered}
    assert browse("buyer").post(f"/purchase-orders/{po['code']}/confirmation", form).status_code == 303
    line = ok(buyer.get(f"/api/purchase-orders/{po['code']}"))["lines"][0]
    assert (line["due_date"], line["ordered_due_date"], line["differs"]) == (ordered, ordered, False)
