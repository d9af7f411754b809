"""Runs the snippets of docs/webhooks.md as they are written (called by scripts/test-webhook-docs).

Each receiver runs as a real HTTP server and gets every standardWebhooks vector, the guide's example
request and freshly signed requests; each by-hand recipe gets the same cases as a function. Prints a
summary per receiver and exits non-zero on any failure.
"""

import base64
import glob
import hashlib
import hmac
import http.client
import importlib.metadata
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOC = ROOT / "docs/webhooks.md"
VECTORS = json.loads((ROOT / "vectors/signatures.json").read_text())["standardWebhooks"]
GO = os.environ["GO"]
FLASK = str(Path(sys.executable).parent / "flask")
LIBFAKETIME = (glob.glob("/usr/lib/*/faketime/libfaketime.so.1") or [""])[0]
# Receivers get their clock and secret from the test alone, never from whoever runs it.
BASE_ENV = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME", "HERALD_WEBHOOK_SECRET", "HERALD_WEBHOOK_TEST_NOW")}
# Offline: the Go snippets import the standard library only, so the build needs no module at all.
GO_ENV = {**BASE_ENV, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
UNSET = object()  # a secret left out of the environment, unlike the empty one


class Failure(Exception):
    pass


# --- the guide's snippets ---------------------------------------------------------------------------


def extract(dest):
    """Every fenced block of the guide, by the path its `<!-- snippet: … -->` mark gives it."""
    lines = DOC.read_text().splitlines(keepends=True)
    snippets, i = {}, 0
    while i < len(lines):
        if lines[i].startswith("```"):
            mark = re.fullmatch(r"<!-- snippet: (\S+) -->\n", lines[i - 1]) if i else None
            if not mark:
                raise Failure(f"docs/webhooks.md:{i + 1}: a fenced block without a <!-- snippet: … --> mark")
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            snippets[mark[1]] = "".join(lines[i + 1 : end])
            i = end
        i += 1
    for path, text in snippets.items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_text(text)
    return snippets


def example_request(text):
    """The guide's example request as a case: its headers and body exactly as shown, its secret the
    one the guide states."""
    head, body = text.split("\n\n", 1)
    headers = dict(h.split(": ", 1) for h in head.splitlines()[1:])
    body = body.removesuffix("\n").encode()
    if int(headers["content-length"]) != len(body):
        raise Failure(f"the example request's content-length is {headers['content-length']}, its body {len(body)} bytes")
    return Case("the guide's example request", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", headers["webhook-id"],
                headers["webhook-timestamp"], headers["webhook-signature"], body, True)


# --- requests ----------------------------------------------------------------------------------------


def sign(secret, msg_id, ts, body):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def new_secret():
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def herald_event(kind, data):
    """An event as Herald sends it: its id, and compact JSON with the keys in order."""
    event_id = str(uuid.uuid4())
    created = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {"createdAt": created, "data": data, "id": event_id, "organizationId": str(uuid.uuid4()), "type": kind}
    return event_id, json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def message(channel, status, **extra):
    return {"channel": channel, "error": None, "id": str(uuid.uuid4()), "status": status, "to": "+2348067000111", **extra}


FAMILIES = [
    ("email_delivered", message("email", "DELIVERED", to=["ada@example.com"], subject="Hi", opens=0, clicks=0)),
    ("email_bounced", message("email", "BOUNCED", to=["bounced@example.com"], opens=0, clicks=0)),
    ("email_opened", message("email", "DELIVERED", to=["ada@example.com"], opens=2, clicks=0)),
    ("email_clicked", message("email", "DELIVERED", to=["ada@example.com"], opens=2, clicks=1)),
    ("sms_sent", message("sms", "SENT", senderId="Acme", segments=1)),
    ("sms_failed", message("sms", "FAILED", error={"code": "UNDELIVERED", "message": "undelivered"})),
    ("whatsapp_read", message("whatsapp", "READ")),
    ("sms_opt_out", {"action": "added", "occurredAt": "2026-11-27T10:00:00Z", "phoneNumber": "+2348067000111", "source": "inbound"}),
    ("webhook_test", {"endpointId": str(uuid.uuid4()), "message": "A test event from Herald"}),
]


class Case:
    """One request and what the receiver must do with it: accept (2xx) or refuse (4xx), and, for a
    Herald event, how many times it must log the event handled by the end."""

    def __init__(self, name, secret, msg_id, ts, signature, body, accept, handled=None, title_case=False, drop=()):
        self.name, self.secret, self.accept, self.handled = name, secret, accept, handled
        self.msg_id, self.ts, self.signature, self.body = msg_id, str(ts), signature, body
        names = ("Webhook-Id", "Webhook-Timestamp", "Webhook-Signature") if title_case else ("webhook-id", "webhook-timestamp", "webhook-signature")
        values = (self.msg_id, self.ts, self.signature)
        self.headers = [("content-type", "application/json")] + [(n, v) for n, v in zip(names, values) if n.lower() not in drop]

    def by_hand(self, now=None):
        present = {n.lower(): v for n, v in self.headers}
        return {"secret": self.secret, "id": present.get("webhook-id", ""), "timestamp": present.get("webhook-timestamp", ""),
                "signature": present.get("webhook-signature", ""), "body": base64.b64encode(self.body).decode(), "now": now}


def fixed_cases(example):
    """The vectors and the guide's example request, each with the timestamp it was signed at."""
    vectors = [(v["timestamp"], Case(f"vector: {v['name']}", v["secret"], v["id"], v["timestamp"], v["signature"], v["payload"].encode(), v["valid"])) for v in VECTORS]
    return vectors + [(int(example.ts), example)]


def fresh_cases(secret):
    """Requests signed now with `secret`, as Herald would sign them, and every way to get one wrong."""
    now = int(time.time())
    other = new_secret()
    cases = []

    def add(name, accept, handled, msg_id, body, ts=now, signature=None, **kw):
        signature = sign(secret, msg_id, ts, body) if signature is None else signature
        cases.append(Case(name, secret, msg_id, ts, signature, body, accept, handled, **kw))

    def event(kind="sms_delivered", data=None):
        return herald_event(kind, data or message("sms", "DELIVERED"))

    add("fresh, header names in lower case", True, 1, *event())
    add("fresh, header names in title case (as php-fpm and CGI give them)", True, 1, *event(), title_case=True)
    i, b = event()
    add("two signatures, the valid one second (rotation)", True, 1, i, b, signature=f"{sign(other, i, now, b)} {sign(secret, i, now, b)}")
    i, b = event()
    add("two signatures, the valid one first (rotation)", True, 1, i, b, signature=f"{sign(secret, i, now, b)} {sign(other, i, now, b)}")
    i, b = event()
    add("signed with another secret only", False, 0, i, b, signature=sign(other, i, now, b))
    i, b = event()
    add("a signature made for another webhook-id", False, 0, i, b, signature=sign(secret, str(uuid.uuid4()), now, b))
    add("stale timestamp (10 minutes old)", False, 0, *event(), ts=now - 600)
    add("timestamp 10 minutes ahead", False, 0, *event(), ts=now + 600)
    # Signed over the malformed value itself: the libraries read "1e9" or "-5" as numbers, and
    # must still refuse.
    for bad_ts in ("abc", "1e9", "-5", f"{now}.5", " "):
        add(f"malformed timestamp {bad_ts!r}", False, 0, *event(), ts=bad_ts)
    i, b = event()
    mac = sign(secret, i, now, b).removeprefix("v1,")
    for bad_sig in ("garbage", "v1", "v1,", "v1,!!!!", f"v2,{mac}", "v1,é"):
        add(f"malformed signature {bad_sig[:12]!r}", False, 0, i, b, signature=bad_sig)
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        add(f"no {header} header", False, 0, *event(), drop=(header,))
    i, b = event()
    add("body changed by one byte", False, 0, i, b.replace(b"DELIVERED", b"DELIVERES"), signature=sign(secret, i, now, b))
    i, b = event()
    add("an event, first delivery", True, None, i, b)
    add("the same event again, a retry with a new timestamp: acknowledged, acted on once", True, 1, i, b, ts=now + 1)
    for kind, data in FAMILIES:
        add(f"event {kind}", True, 1, *event(kind, data))
    add("event of a type the receiver does not know: acknowledged, not handled", True, 0, *event("fax_sent", {"id": "f"}))
    return cases


def post(port, headers, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.putrequest("POST", "/webhooks/herald", skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value.encode("latin-1"))
        conn.putheader("content-length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


# --- receivers ---------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clock_env(at):
    """Starts a process's clock at `at` (Unix seconds), through libfaketime."""
    if at is None:
        return {}
    stamp = datetime.fromtimestamp(at, timezone.utc).strftime("@%Y-%m-%d %H:%M:%S")
    return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": stamp, "TZ": "UTC", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def go_clock_env(at):
    """Go reads the clock without libc, out of libfaketime's reach: the Go receiver's own test hook,
    honoured only when set, stops its clock at `at` instead."""
    return {} if at is None else {"HERALD_WEBHOOK_TEST_NOW": str(at)}


class Process:
    """A receiver started as its own process; its output is kept to count what it handled."""

    def __init__(self, argv, cwd, env, port):
        self.port = port
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_listening(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"exited with {self.proc.returncode} before listening:\n{self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise Failure(f"not listening after 20 s:\n{self.output()}")

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class CgiGateway:
    """What a web server does for php-cgi (and, over FastCGI, for php-fpm): one run of the script
    per request, its headers passed as HTTP_* variables, which PHP turns back into title case."""

    def __init__(self, script, env):
        self.port = free_port()
        self.lines = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                cgi = {**env, "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST", "SCRIPT_FILENAME": str(script),
                       "SCRIPT_NAME": "/webhooks/herald", "REQUEST_URI": self.path, "QUERY_STRING": "",
                       "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(gateway.port),
                       "REMOTE_ADDR": "127.0.0.1", "REDIRECT_STATUS": "200", "CONTENT_LENGTH": str(len(body)),
                       "CONTENT_TYPE": self.headers.get("content-type", "")}
                for name, value in self.headers.items():
                    if name.lower() not in ("content-type", "content-length"):
                        cgi["HTTP_" + name.upper().replace("-", "_")] = value
                run = subprocess.run(["php-cgi"], input=body, env=cgi, cwd=script.parent, capture_output=True)
                gateway.lines.append(run.stderr.decode(errors="replace"))
                head = run.stdout.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
                status = re.search(r"^Status: (\d{3})", head, re.M)
                self.send_response(int(status[1]) if status else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_listening(self):
        return self

    def output(self):
        return "".join(self.lines)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Receiver:
    """One way to run a receiver of the guide: `start(secret, clock)` gives a server answering on
    `.port`, its clock set to `clock` (Unix seconds) unless that is None; `startup_refuses` says
    whether a bad secret must stop it from starting (else it must answer 500)."""

    def __init__(self, name, start, startup_refuses=True):
        self.name, self.start, self.startup_refuses = name, start, startup_refuses


def process_receiver(argv, cwd, clock_env=clock_env):
    def start(secret, clock):
        port = free_port()
        env = {**BASE_ENV, **clock_env(clock), "PORT": str(port), "HOST": "127.0.0.1", "LISTEN_ADDR": f"127.0.0.1:{port}"}
        if secret is not UNSET:
            env["HERALD_WEBHOOK_SECRET"] = secret
        return Process([a.replace("{port}", str(port)) for a in argv], cwd, env, port)

    return start


def cgi_receiver(script):
    def start(secret, clock):
        env = {**BASE_ENV, **clock_env(clock)}
        if secret is not UNSET:
            env["HERALD_WEBHOOK_SECRET"] = secret
        return CgiGateway(script, env)

    return start


# --- running -----------------------------------------------------------------------------------------


class Tally:
    def __init__(self):
        self.results = {}

    def record(self, target, name, error=None):
        self.results.setdefault(target, []).append((name, error))

    def check(self, target, name, fn):
        try:
            fn()
            self.record(target, name)
        except Failure as e:
            self.record(target, name, str(e))
        except Exception as e:  # a crash of the test itself counts against the case, not the run
            self.record(target, name, f"{type(e).__name__}: {e}")


def handled_count(output, msg_id):
    return len(re.findall(r"\bhandled \S+ " + re.escape(msg_id) + r"\b", output))


def send(server, case):
    status = post(server.port, case.headers, case.body)
    if case.accept and not 200 <= status < 300:
        raise Failure(f"answered {status}, expected a 2xx")
    if not case.accept and not 400 <= status < 500:
        raise Failure(f"answered {status}, expected a 4xx")


def check_handled(server, cases):
    output = server.output()
    for case in cases:
        if case.handled is not None and handled_count(output, case.msg_id) != case.handled:
            raise Failure(f"{case.name}: handled {handled_count(output, case.msg_id)} times, expected {case.handled}")


def run_receiver(tally, rc, example):
    # Vectors and the example request: a server per secret and clock, the clock at their timestamp.
    groups = {}
    for ts, case in fixed_cases(example):
        groups.setdefault((case.secret, ts // 300), []).append((ts, case))
    for (secret, _), members in groups.items():
        server = None
        try:
            server = rc.start(secret, members[0][0]).wait_listening()
            for _, case in members:
                tally.check(rc.name, case.name, lambda: send(server, case))
        except Failure as e:
            for _, case in members:
                tally.record(rc.name, case.name, str(e))
        finally:
            if server:
                server.stop()

    secret = new_secret()
    cases = fresh_cases(secret)
    server = rc.start(secret, None)
    try:
        server.wait_listening()
        for case in cases:
            tally.check(rc.name, case.name, lambda: send(server, case))
        tally.check(rc.name, "each event handled as often as expected", lambda: check_handled(server, cases))
    finally:
        server.stop()

    for bad in (UNSET, "", "whsec_", "whsec_not*base64"):
        label = "unset" if bad is UNSET else repr(bad)
        tally.check(rc.name, f"secret {label}: refused", lambda: refuses_bad_secret(rc, bad))


def refuses_bad_secret(rc, bad):
    server = rc.start(bad, None)
    try:
        if rc.startup_refuses:
            try:
                server.proc.wait(20)
            except subprocess.TimeoutExpired:
                raise Failure("still running 20 s after starting with it") from None
            if server.proc.returncode == 0:
                raise Failure("exited 0")
            return
        msg_id, body = herald_event("sms_delivered", message("sms", "DELIVERED"))
        now = int(time.time())
        forged = sign("whsec_", msg_id, now, body) if bad in ("", "whsec_", UNSET) else sign(new_secret(), msg_id, now, body)
        case = Case("", "", msg_id, now, forged, body, False)
        server.wait_listening()
        status = post(server.port, case.headers, body)
        if status != 500 or handled_count(server.output(), msg_id):
            raise Failure(f"answered {status} (expected 500, nothing handled)")
    finally:
        server.stop()


def run_by_hand(tally, target, argv, cwd, example):
    secret = new_secret()
    fixed = fixed_cases(example)
    fresh = fresh_cases(secret)
    named = [(c.name, c.by_hand(now=ts)) for ts, c in fixed] + [(c.name, c.by_hand()) for c in fresh]
    expected = [c.accept for _, c in fixed] + [c.accept for c in fresh]
    msg_id, body = herald_event("sms_delivered", message("sms", "DELIVERED"))
    now = int(time.time())
    valid = Case("", secret, msg_id, now, sign(secret, msg_id, now, body), body, True).by_hand()
    for bad in ("", "whsec_", "whsec_not*base64", "whsec_é", secret.removeprefix("whsec_")):
        named.append((f"secret {bad[:16]!r}: false", {**valid, "secret": bad}))
        expected.append(False)
    named.append(("empty-key signature with secret 'whsec_': false", {**valid, "secret": "whsec_", "signature": sign("whsec_", msg_id, now, body)}))
    expected.append(False)
    run = subprocess.run(argv, cwd=cwd, env=BASE_ENV, input=json.dumps([c for _, c in named]).encode(), capture_output=True)
    if run.returncode != 0:
        tally.record(target, "harness ran", f"exit {run.returncode}: {run.stderr.decode(errors='replace')[-2000:]}")
        return
    answers = json.loads(run.stdout)
    for (name, _), want, got in zip(named, expected, answers):
        tally.record(target, name, None if got is want else f"answered {got!r}, expected {want}")


def build(tmp):
    """Lays the snippets out as each language's project would, with the test-only files beside them."""
    shutil.copy(HERE / "harness/by_hand.py", tmp / "python")
    node = tmp / "node"
    (node / "node_modules").symlink_to(HERE / "node_modules")
    shutil.copy(HERE / "harness/by_hand.mjs", node)
    (node / "package.json").write_text('{"type": "module"}\n')

    # The receiver is main.go and verify.go, one program, as `go mod init receiver` makes it; the
    # by-hand runner is the same verify.go with a test main beside it.
    go = tmp / "go"
    (go / "go.mod").write_text("module receiver\n\ngo 1.19\n")
    by_hand = tmp / "go-by-hand"
    by_hand.mkdir()
    shutil.copy(go / "verify.go", by_hand)
    shutil.copy(HERE / "harness/by_hand.go", by_hand / "main.go")
    (by_hand / "go.mod").write_text("module byhand\n\ngo 1.19\n")

    # The receiver is webhook.php with verify.php beside it; so is the by-hand runner.
    php = tmp / "php"
    shutil.copy(HERE / "harness/by_hand.php", php)
    for sapi in ("cli-server", "cgi"):  # each its own database
        shutil.copytree(php, tmp / f"php-{sapi}", symlinks=True)


def go_build(directory, out):
    argv = [GO, "build", "-o", out, "."]
    run = subprocess.run(argv, cwd=directory, env=GO_ENV, capture_output=True, text=True)
    if run.returncode:
        raise Failure(f"go build in {directory.name}: {run.stderr}")


def versions():
    def out(*argv):
        return subprocess.run(argv, capture_output=True, text=True, env=BASE_ENV).stdout.strip()

    npm = json.loads((HERE / "package-lock.json").read_text())["packages"]
    return ", ".join([
        f"Python {sys.version.split()[0]} (Flask {importlib.metadata.version('flask')}, "
        f"standardwebhooks {importlib.metadata.version('standardwebhooks')})",
        f"Node {out('node', '--version')} ("
        + ", ".join(f"{n} {npm['node_modules/' + n]['version']}" for n in ("express", "hono", "@hono/node-server", "standardwebhooks"))
        + ")",
        out(GO, "version").removeprefix("go version ").split()[0],
        "PHP " + out("php", "-r", "echo PHP_VERSION;"),
    ])


def main():
    started = time.monotonic()
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="webhook-docs-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            snippets = extract(tmp)
            build(tmp)
            example = example_request(snippets["example-request.http"])
        except Failure as e:
            print(f"FAIL {e}")
            return 1

        # The Go builds take longest the first time: they run while the other languages are tested.
        go_errors = []

        def build_go():
            try:
                go_build(tmp / "go", "receiver")
                go_build(tmp / "go-by-hand", "by-hand")
            except Failure as e:
                go_errors.append(str(e))

        go_thread = threading.Thread(target=build_go)
        go_thread.start()

        py, node = tmp / "python", tmp / "node"
        receivers = [
            Receiver("python flask", process_receiver([FLASK, "--app", "app", "run", "--port", "{port}"], py)),
            Receiver("node express", process_receiver(["node", "express.mjs"], node)),
            Receiver("node express.json()", process_receiver(["node", "express-json.mjs"], node)),
            Receiver("node hono (web Request)", process_receiver(["node", "hono.mjs"], node)),
            Receiver("php -S", process_receiver(["php", "-S", "127.0.0.1:{port}", "webhook.php"], tmp / "php-cli-server"), startup_refuses=False),
            Receiver("php-cgi", cgi_receiver(tmp / "php-cgi/webhook.php"), startup_refuses=False),
        ]
        for rc in receivers:
            run_receiver(tally, rc, example)
        run_by_hand(tally, "python by hand", [sys.executable, "by_hand.py"], py, example)
        run_by_hand(tally, "node by hand", ["node", "by_hand.mjs"], node, example)
        run_by_hand(tally, "php by hand", ["php", "by_hand.php"], tmp / "php", example)

        go_thread.join()
        if go_errors:
            tally.record("go net/http", "go build", go_errors[0])
        else:
            go_rc = Receiver("go net/http", process_receiver([str(tmp / "go/receiver")], tmp / "go", go_clock_env))
            run_receiver(tally, go_rc, example)
            run_by_hand(tally, "go by hand", [str(tmp / "go-by-hand/by-hand")], tmp / "go-by-hand", example)

    passed = failed = 0
    for target, results in tally.results.items():
        bad = [(n, e) for n, e in results if e]
        passed += len(results) - len(bad)
        failed += len(bad)
        print(f"{target:26} {len(results) - len(bad):3} passed, {len(bad)} failed")
        for name, error in bad:
            print(f"    FAIL {name}: {error}")
    print(f"with {versions()}; {time.monotonic() - started:.0f} s")
    print(f"webhook-docs: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
