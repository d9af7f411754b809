"""Runs the by-hand verify() of docs/webhooks.md over the cases on stdin; prints one answer each."""

import base64
import json
import sys

from verify_by_hand import verify

answers = []
for c in json.load(sys.stdin):
    try:
        answers.append(verify(c["secret"], c["id"], c["timestamp"], c["signature"], base64.b64decode(c["body"]), c["now"]))
    except Exception as e:  # the recipe must refuse, not raise: reported as a failure
        answers.append(f"raised {type(e).__name__}: {e}")
json.dump(answers, sys.stdout)
