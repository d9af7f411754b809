#!/usr/bin/env python3
"""Sets up the credentials the contract tests use, over HTTP, on a fresh Herald.

    bootstrap.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD

Logs in as the platform admin (a session token), creates an API key holding every scope, and
requests a sender ID and approves it as the platform admin; signs up a second organization whose
OWNER's session the members run may lose (it changes and removes members, its own OWNER among
them). Prints, one a line: SESSION_TOKEN=…, API_KEY=…, SMS_SENDER_ID=…, MEMBERS_TOKEN=….
Standard library only.
"""

import json
import sys
import urllib.error
import urllib.request

SCOPES = ["send:email", "read:email", "send:sms", "read:sms", "send:whatsapp", "read:whatsapp"]
SENDER_ID = "HERALD"


def call(base, method, path, token=None, body=None, expect=200):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            status, text = res.status, res.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode(errors="replace")
    if status != expect:
        sys.exit(f"bootstrap: {method} {path} answered {status}, expected {expect}: {text[:500]}")
    return json.loads(text) if text else None


def main(base, email, password):
    base = base.rstrip("/")
    session = call(base, "POST", "/v1/auth/login", body={"email": email, "password": password})
    token = session["token"]
    me = call(base, "GET", "/v1/auth/me", token=token)
    if not me.get("user", {}).get("platformAdmin"):
        sys.exit(f"bootstrap: {email} is not a platform admin: {me}")

    key = call(base, "POST", "/v1/api-keys", token=token, expect=201,
               body={"name": "contract tests (every scope)", "scopes": SCOPES})
    if sorted(key["scopes"]) != sorted(SCOPES):
        sys.exit(f"bootstrap: the key got scopes {key['scopes']}, asked for {SCOPES}")

    request = call(base, "POST", "/v1/sms/sender-id-requests", token=token, expect=201,
                   body={"senderId": SENDER_ID, "useCase": "One-time codes and notices for the contract tests",
                         "sampleMessage": "Your Herald code is 123456"})
    reviewed = call(base, "POST", f"/v1/sms/sender-id-requests/{request['id']}/review", token=token,
                    body={"decision": "APPROVE", "note": "contract tests"})
    if reviewed.get("status") != "APPROVED":
        sys.exit(f"bootstrap: the sender ID request is {reviewed.get('status')} after approval")
    approved = call(base, "GET", "/v1/public/sms/sender-ids", token=key["key"])
    if SENDER_ID.lower() not in [a["senderId"].lower() for a in approved["data"]]:
        sys.exit(f"bootstrap: {SENDER_ID} is not among the key's approved sender IDs: {approved}")

    members = call(base, "POST", "/v1/auth/signup", expect=201,
                   body={"organizationName": "Contract members", "name": "Members owner",
                         "email": "members-owner@example.com", "password": "contract-members-password-1"})
    for role in ["ADMIN", "MEMBER", "VIEWER"]:
        call(base, "POST", "/v1/members", token=members["token"], expect=201,
             body={"email": f"{role.lower()}@members.example.com", "name": role.title(), "role": role,
                   "password": "contract-members-password-1"})

    print(f"SESSION_TOKEN={token}")
    print(f"MEMBERS_TOKEN={members['token']}")
    print(f"API_KEY={key['key']}")
    print(f"SMS_SENDER_ID={SENDER_ID}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
