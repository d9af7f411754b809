"""Reads a message as the SMTP test server stored it (base64 on stdin) and prints what an outside
receiver sees, as JSON: its headers, the content types of its parts, its attachments, and whether
its DKIM signature verifies (dkimpy) against the TXT record given as the first argument."""

import base64
import email
import email.policy
import json
import sys

import dkim

raw = base64.b64decode(sys.stdin.read())
txt = sys.argv[1].encode()
msg = email.message_from_bytes(raw, policy=email.policy.default)


def dns(name, timeout=5):
    return txt


parts = [p.get_content_type() for p in msg.walk()]
body = msg.get_body(preferencelist=("html",))
print(
    json.dumps(
        {
            "dkim": dkim.verify(raw, dnsfunc=dns),
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "cc": str(msg["Cc"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "herald_id": str(msg["X-Herald-Message-Id"]),
            "custom": str(msg["X-Campaign"]),
            "parts": parts,
            "attachments": [
                [p.get_filename(), len(p.get_payload(decode=True))] for p in msg.iter_attachments()
            ],
            "html": body.get_content() if body else None,
            "text": msg.get_body(preferencelist=("plain",)).get_content(),
        }
    )
)
