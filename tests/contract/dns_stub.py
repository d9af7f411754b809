#!/usr/bin/env python3
"""A DNS server that answers NXDOMAIN to every question, over UDP and TCP, on 127.0.0.1:PORT.

    dns_stub.py PORT

scripts/contract points the server's DNS_RESOLVER here, so that `POST /v1/domains/{id}/verify`
gets a prompt answer (its records FAILED) without any lookup leaving the machine.
"""

import signal
import sys
import time

from dnslib import RCODE
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class NoSuchDomain(BaseResolver):
    def resolve(self, request, handler):
        reply = request.reply()
        reply.header.rcode = RCODE.NXDOMAIN
        return reply


def main(port):
    logger = DNSLogger("-recv,-send,-request,-reply,-truncated,-data")
    servers = [DNSServer(NoSuchDomain(), address="127.0.0.1", port=port, tcp=tcp, logger=logger)
               for tcp in (False, True)]
    for s in servers:
        s.start_thread()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"dns stub: NXDOMAIN for everything on 127.0.0.1:{port} (udp, tcp)", flush=True)
    while all(s.isAlive() for s in servers):
        time.sleep(0.5)
    sys.exit("dns stub: a server thread stopped")


if __name__ == "__main__":
    main(int(sys.argv[1]))
