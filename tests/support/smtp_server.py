"""An SMTP server for the tests (aiosmtpd): every message it accepts is appended to a JSON-lines
file with its envelope. A recipient whose local part starts with `reject` is refused with 550, one
starting `later` with 451; a message to one starting `slow` has its DATA answered only after 30 s.
Usage: smtp_server.py PORT OUT_FILE"""

import base64
import json
import sys
import asyncio
import time

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, path):
        self.path = path

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 no such mailbox"
        if local.startswith("later"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(a.split("@")[0].lower().startswith("slow") for a in envelope.rcpt_tos):
            await asyncio.sleep(30)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": base64.b64encode(envelope.original_content or envelope.content).decode(),
        }
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Handler(path), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
