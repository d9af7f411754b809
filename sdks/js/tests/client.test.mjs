import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Herald, HeraldError, VERSION } from "@herald/sdk";
import { apiError, smsMessage, standIn } from "./helpers.mjs";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function withServer(handler, run) {
  const server = await standIn(handler);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

function client(url, options = {}) {
  return new Herald({ apiKey: "hk_test_0123456789", baseUrl: url, ...options });
}

describe("every operation", () => {
  let server;
  let herald;
  before(async () => {
    server = await standIn((req) => {
      if (req.path.endsWith("/timeline")) return { status: 200, body: { data: [] } };
      if (req.path.endsWith("/batch")) return { status: 202, body: { data: [smsMessage()] } };
      if (req.path.endsWith("/send")) return { status: 202, body: smsMessage() };
      if (req.path.endsWith("/cancel")) return { status: 200, body: smsMessage({ status: "CANCELED" }) };
      if (req.method === "GET" && /\/v1\/public\/(sms|emails|whatsapp|sms\/sender-ids)$/.test(req.path)) {
        return { status: 200, body: { data: [], page: 1, pageSize: 20, total: 0 } };
      }
      return { status: 200, body: { path: req.path } };
    });
    herald = client(server.url + "/");
  });
  after(() => server.close());

  const cases = [
    ["GET", "/v1/public/key", (h) => h.key()],
    ["POST", "/v1/public/sms/send", (h) => h.sms.send({ to: "+2348067000111", body: "Hi", senderId: "Acme" })],
    ["POST", "/v1/public/sms/batch", (h) => h.sms.batch([{ to: "+2348067000111", body: "Hi", senderId: "Acme" }])],
    ["GET", "/v1/public/sms", (h) => h.sms.list()],
    ["GET", "/v1/public/sms/abc%2F1", (h) => h.sms.get("abc/1")],
    ["GET", "/v1/public/sms/m1/timeline", (h) => h.sms.timeline("m1")],
    ["POST", "/v1/public/sms/m1/cancel", (h) => h.sms.cancel("m1")],
    ["GET", "/v1/public/sms/sender-ids", (h) => h.sms.senderIds()],
    ["POST", "/v1/public/emails/send", (h) => h.emails.send({ from: "a@acme.test", to: "b@example.com", subject: "S", text: "T" })],
    ["POST", "/v1/public/emails/batch", (h) => h.emails.batch([])],
    ["GET", "/v1/public/emails", (h) => h.emails.list()],
    ["GET", "/v1/public/emails/m2", (h) => h.emails.get("m2")],
    ["GET", "/v1/public/emails/m2/timeline", (h) => h.emails.timeline("m2")],
    ["POST", "/v1/public/emails/m2/cancel", (h) => h.emails.cancel("m2")],
    ["GET", "/v1/public/emails/stats", (h) => h.emails.stats()],
    ["POST", "/v1/public/whatsapp/send", (h) => h.whatsapp.send({ to: "+2348067000111", type: "text", text: { body: "Hi" } })],
    ["POST", "/v1/public/whatsapp/batch", (h) => h.whatsapp.batch([])],
    ["GET", "/v1/public/whatsapp", (h) => h.whatsapp.list()],
    ["GET", "/v1/public/whatsapp/m3", (h) => h.whatsapp.get("m3")],
    ["GET", "/v1/public/whatsapp/m3/timeline", (h) => h.whatsapp.timeline("m3")],
    ["POST", "/v1/public/whatsapp/m3/cancel", (h) => h.whatsapp.cancel("m3")],
  ];
  for (const [method, path, call] of cases) {
    it(`${method} ${path}`, async () => {
      const before = server.requests.length;
      await call(herald);
      assert.equal(server.requests.length, before + 1);
      const req = server.requests.at(-1);
      assert.equal(req.method, method);
      assert.equal(req.path, path);
      assert.equal(req.headers.authorization, "Bearer hk_test_0123456789");
      assert.equal(req.headers["x-herald-client"], `herald-js/${VERSION}`);
      assert.equal(req.headers["user-agent"], `herald-js/${VERSION}`);
      assert.equal(req.headers.accept, "application/json");
      const sends = path.endsWith("/send") || path.endsWith("/batch");
      assert.equal(UUID.test(req.headers["idempotency-key"] ?? ""), sends, "Idempotency-Key only on sends");
      assert.equal(req.headers["content-type"], sends ? "application/json" : undefined);
    });
  }

  it("sends the body as given, a batch wrapped in messages", async () => {
    const message = { to: "+2348067000111", body: "Hi", senderId: "Acme", flow: "OTP", externalId: "o-1" };
    await herald.sms.send(message);
    assert.deepEqual(server.requests.at(-1).body, message);
    await herald.sms.batch([message, message]);
    assert.deepEqual(server.requests.at(-1).body, { messages: [message, message] });
  });

  it("sends list filters as query parameters, dates as RFC 3339, leaving out undefined ones", async () => {
    await herald.sms.list({
      status: "DELIVERED",
      flow: "OTP",
      query: "+234 8067",
      createdFrom: new Date("2026-11-01T00:00:00Z"),
      createdTo: "2026-11-30T23:59:59Z",
      page: 2,
      pageSize: 10,
      externalId: undefined,
    });
    assert.deepEqual(server.requests.at(-1).query, {
      status: "DELIVERED",
      flow: "OTP",
      query: "+234 8067",
      createdFrom: "2026-11-01T00:00:00.000Z",
      createdTo: "2026-11-30T23:59:59Z",
      page: "2",
      pageSize: "10",
    });
    await herald.emails.stats({ from: "2026-11-01", to: "2026-11-30" });
    assert.deepEqual(server.requests.at(-1).query, { from: "2026-11-01", to: "2026-11-30" });
    await herald.sms.senderIds({ pageSize: 100 });
    assert.deepEqual(server.requests.at(-1).query, { pageSize: "100" });
  });

  it("uses the caller's Idempotency-Key when given, a new one per call otherwise", async () => {
    const body = { to: "+2348067000111", body: "Hi", senderId: "Acme" };
    await herald.sms.send(body, { idempotencyKey: "order-1043" });
    assert.equal(server.requests.at(-1).headers["idempotency-key"], "order-1043");
    await herald.sms.send(body);
    await herald.sms.send(body);
    const [first, second] = server.requests.slice(-2).map((r) => r.headers["idempotency-key"]);
    assert.notEqual(first, second);
  });

  it("refuses an empty id before calling", async () => {
    const before = server.requests.length;
    await assert.rejects(herald.sms.get(""), TypeError);
    assert.equal(server.requests.length, before);
  });
});

describe("typed errors", () => {
  it("carries status, code, message, details and the request id", async () => {
    const details = [{ field: "messages[1].to", message: "must be E.164", code: "VALIDATION_ERROR" }];
    await withServer(
      () => apiError(422, "VALIDATION_ERROR", "the request is not valid", details),
      async (server) => {
        const error = await client(server.url).sms.batch([]).catch((e) => e);
        assert.ok(error instanceof HeraldError);
        assert.ok(error instanceof Error);
        assert.equal(error.name, "HeraldError");
        assert.equal(error.status, 422);
        assert.equal(error.code, "VALIDATION_ERROR");
        assert.equal(error.message, "the request is not valid");
        assert.deepEqual(error.details, details);
        assert.equal(error.requestId, "req-1");
        assert.equal(server.requests.length, 1, "a 4xx is not retried");
      },
    );
  });

  it("gives an empty details list when the API sends none", async () => {
    await withServer(
      () => apiError(404, "NOT_FOUND", "no such message"),
      async (server) => {
        const error = await client(server.url).emails.get("x").catch((e) => e);
        assert.equal(error.status, 404);
        assert.equal(error.code, "NOT_FOUND");
        assert.deepEqual(error.details, []);
      },
    );
  });

  it("names a non-JSON error answer by its status", async () => {
    await withServer(
      () => ({ status: 418, body: "<html>teapot</html>", headers: { "Content-Type": "text/html" } }),
      async (server) => {
        const error = await client(server.url).key().catch((e) => e);
        assert.equal(error.status, 418);
        assert.equal(error.code, "HTTP_418");
        assert.equal(error.message, "<html>teapot</html>");
        assert.equal(error.requestId, "req-1");
      },
    );
  });

  it("reports an unreachable server as CONNECTION_ERROR after its retries", async () => {
    const server = await standIn(() => ({ status: 200 }));
    await server.close();
    const error = await client(server.url, { maxRetries: 1 }).key().catch((e) => e);
    assert.ok(error instanceof HeraldError);
    assert.equal(error.status, 0);
    assert.equal(error.code, "CONNECTION_ERROR");
    assert.equal(error.requestId, null);
  });
});

describe("retries", () => {
  it("retries 5xx with the same Idempotency-Key and returns the eventual answer", async () => {
    await withServer(
      (req, n) => (n < 3 ? apiError(503, "SERVICE_UNAVAILABLE", "database unreachable") : { status: 202, body: smsMessage() }),
      async (server) => {
        const message = await client(server.url).sms.send({ to: "+2348067000111", body: "Hi", senderId: "Acme" });
        assert.equal(message.status, "QUEUED");
        assert.equal(server.requests.length, 3);
        const keys = new Set(server.requests.map((r) => r.headers["idempotency-key"]));
        assert.equal(keys.size, 1, "one Idempotency-Key across the retries");
        assert.match([...keys][0], UUID);
        assert.deepEqual(server.requests[0].body, server.requests[2].body);
      },
    );
  });

  it("keeps the caller's Idempotency-Key across retries", async () => {
    await withServer(
      (req, n) => (n === 1 ? apiError(500, "INTERNAL", "oops") : { status: 202, body: { data: [] } }),
      async (server) => {
        await client(server.url).emails.batch([], { idempotencyKey: "batch-7" });
        assert.deepEqual(
          server.requests.map((r) => r.headers["idempotency-key"]),
          ["batch-7", "batch-7"],
        );
      },
    );
  });

  it("backs off exponentially with jitter: gaps of at least 250, 500 and 1000 ms", async () => {
    await withServer(
      () => apiError(502, "BAD_GATEWAY", "upstream"),
      async (server) => {
        const error = await client(server.url).key().catch((e) => e);
        assert.equal(error.status, 502, "the last answer's error once the retries are spent");
        assert.equal(error.code, "BAD_GATEWAY");
        assert.equal(server.requests.length, 4, "the first attempt and 3 retries by default");
        const gaps = server.requests.slice(1).map((r, i) => r.at - server.requests[i].at);
        [250, 500, 1000].forEach((floor, i) => assert.ok(gaps[i] >= floor - 20, `gap ${i} was ${gaps[i]} ms`));
        [500, 1000, 2000].forEach((ceiling, i) => assert.ok(gaps[i] <= ceiling + 250, `gap ${i} was ${gaps[i]} ms`));
      },
    );
  });

  it("honours Retry-After on 429", async () => {
    await withServer(
      (req, n) =>
        n === 1
          ? { ...apiError(429, "RATE_LIMITED", "slow down"), headers: { "Retry-After": "1" } }
          : { status: 200, body: { id: "k" } },
      async (server) => {
        const key = await client(server.url).key();
        assert.deepEqual(key, { id: "k" });
        assert.equal(server.requests.length, 2);
        const gap = server.requests[1].at - server.requests[0].at;
        assert.ok(gap >= 980, `waited ${gap} ms, Retry-After said 1 s`);
      },
    );
  });

  it("honours Retry-After given as an HTTP date", async () => {
    await withServer(
      (req, n) =>
        n === 1
          ? { ...apiError(503, "SERVICE_UNAVAILABLE", "down"), headers: { "Retry-After": new Date(Date.now() + 2000).toUTCString() } }
          : { status: 200, body: { id: "k" } },
      async (server) => {
        await client(server.url).key();
        const gap = server.requests[1].at - server.requests[0].at;
        assert.ok(gap >= 1000 && gap <= 2100, `waited ${gap} ms, Retry-After said 1 to 2 s`);
      },
    );
  });

  it("returns the error at once when Retry-After is over a minute", async () => {
    await withServer(
      () => ({ ...apiError(429, "RATE_LIMITED", "slow down"), headers: { "Retry-After": "120" } }),
      async (server) => {
        const error = await client(server.url).key().catch((e) => e);
        assert.equal(error.code, "RATE_LIMITED");
        assert.equal(server.requests.length, 1);
      },
    );
  });

  it("stops after maxRetries", async () => {
    await withServer(
      () => ({ ...apiError(429, "RATE_LIMITED", "slow down"), headers: { "Retry-After": "0" } }),
      async (server) => {
        const error = await client(server.url, { maxRetries: 1 }).sms.list().catch((e) => e);
        assert.equal(error.status, 429);
        assert.equal(error.code, "RATE_LIMITED");
        assert.equal(server.requests.length, 2);
      },
    );
    await withServer(
      () => apiError(503, "SERVICE_UNAVAILABLE", "down"),
      async (server) => {
        await assert.rejects(client(server.url, { maxRetries: 0 }).sms.list(), { status: 503 });
        assert.equal(server.requests.length, 1);
      },
    );
  });

  it("retries a dropped connection with the same Idempotency-Key", async () => {
    await withServer(
      (req, n) => (n === 1 ? "drop" : { status: 202, body: smsMessage() }),
      async (server) => {
        await client(server.url).sms.send({ to: "+2348067000111", body: "Hi", senderId: "Acme" });
        assert.equal(server.requests.length, 2);
        assert.equal(server.requests[0].headers["idempotency-key"], server.requests[1].headers["idempotency-key"]);
      },
    );
  });

  it("times out each attempt and retries it, then reports TIMEOUT", async () => {
    await withServer(
      () => "hang",
      async (server) => {
        const started = Date.now();
        const error = await client(server.url, { timeoutMs: 200, maxRetries: 1 }).key().catch((e) => e);
        assert.ok(error instanceof HeraldError);
        assert.equal(error.status, 0);
        assert.equal(error.code, "TIMEOUT");
        assert.equal(server.requests.length, 2);
        assert.ok(Date.now() - started >= 400);
      },
    );
  });

  it("stops at once when the caller aborts", async () => {
    await withServer(
      () => apiError(503, "SERVICE_UNAVAILABLE", "down"),
      async (server) => {
        const controller = new AbortController();
        setTimeout(() => controller.abort(new Error("user went away")), 100);
        const error = await client(server.url).key({ signal: controller.signal }).catch((e) => e);
        assert.equal(error.message, "user went away");
        assert.equal(server.requests.length, 1);
      },
    );
  });
});

describe("paging", () => {
  it("iterates every page once, from the first, and stops at the total", async () => {
    const ids = ["m5", "m4", "m3", "m2", "m1"];
    await withServer(
      (req) => {
        const page = Number(req.query.page);
        const pageSize = Number(req.query.pageSize);
        const data = ids.slice((page - 1) * pageSize, page * pageSize).map((id) => smsMessage({ id }));
        return { status: 200, body: { data, page, pageSize, total: ids.length } };
      },
      async (server) => {
        const seen = [];
        for await (const message of client(server.url).sms.iterate({ flow: "OTP", pageSize: 2 })) seen.push(message.id);
        assert.deepEqual(seen, ids);
        assert.deepEqual(
          server.requests.map((r) => r.query),
          [1, 2, 3].map((page) => ({ flow: "OTP", pageSize: "2", page: String(page) })),
        );
      },
    );
  });

  it("stops on an empty page", async () => {
    await withServer(
      () => ({ status: 200, body: { data: [], page: 1, pageSize: 20, total: 3 } }),
      async (server) => {
        const seen = [];
        for await (const message of client(server.url).whatsapp.iterate()) seen.push(message);
        assert.deepEqual(seen, []);
        assert.equal(server.requests.length, 1);
      },
    );
  });
});

describe("options", () => {
  it("requires a baseUrl", () => {
    assert.throws(() => new Herald({ apiKey: "hk_x" }), /baseUrl is required/);
  });

  it("sends no Authorization when no apiKey is given (a backend proxy adds it)", async () => {
    await withServer(
      () => ({ status: 200, body: {} }),
      async (server) => {
        await new Herald({ baseUrl: server.url }).key();
        assert.equal(server.requests[0].headers.authorization, undefined);
      },
    );
  });

  it("uses the fetch it is given", async () => {
    const calls = [];
    const fakeFetch = async (url, init) => {
      calls.push([url, init.method]);
      return new Response(JSON.stringify({ id: "k" }), { status: 200 });
    };
    const key = await new Herald({ apiKey: "hk_x", baseUrl: "https://herald.test", fetch: fakeFetch }).key();
    assert.deepEqual(key, { id: "k" });
    assert.deepEqual(calls, [["https://herald.test/v1/public/key", "GET"]]);
  });
});
