"""A DNS server for the tests: answers TXT and CNAME questions from a JSON zone file, read again
for every question, on UDP and TCP. Usage: dns_server.py PORT ZONE_FILE

The zone file is {"TXT": {"name": ["value", …]}, "CNAME": {"name": "target"}}; names without the
final dot. Long TXT values are split into strings of 255 bytes, as real zones publish them."""

import json
import sys
import time

from dnslib import CNAME, QTYPE, RR, TXT
from dnslib.server import BaseResolver, DNSServer


class ZoneResolver(BaseResolver):
    def __init__(self, path):
        self.path = path

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        try:
            with open(self.path) as f:
                zone = json.load(f)
        except (OSError, ValueError):
            zone = {}
        qtype = QTYPE[request.q.qtype]
        if qtype == "TXT":
            for value in zone.get("TXT", {}).get(name, []):
                data = value.encode()
                chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
        elif qtype == "CNAME" and name in zone.get("CNAME", {}):
            target = zone["CNAME"][name] + "."
            reply.add_answer(RR(request.q.qname, QTYPE.CNAME, rdata=CNAME(target), ttl=60))
        return reply


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    resolver = ZoneResolver(path)
    for tcp in (False, True):
        DNSServer(resolver, port=port, address="127.0.0.1", tcp=tcp).start_thread()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
