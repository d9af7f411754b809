import { createServer } from "node:http";

/**
 * A real HTTP server on 127.0.0.1 standing in for Herald. `handler(request, attempt)` answers each
 * request as `{status, headers?, body?}` (body is JSON-encoded unless it is a string), or returns
 * "hang" (never answer) or "drop" (close the connection). Every request is recorded.
 */
export async function standIn(handler) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url, "http://stand-in");
    const request = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: text === "" ? undefined : JSON.parse(text),
      at: Date.now(),
    };
    requests.push(request);
    const answer = await handler(request, requests.length);
    if (answer === "hang") return;
    if (answer === "drop") {
      req.socket.destroy();
      return;
    }
    const body = answer.body === undefined ? "" : typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      "Content-Type": "application/json",
      "X-Request-Id": `req-${requests.length}`,
      ...answer.headers,
    });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

export function smsMessage(overrides = {}) {
  return {
    id: "0193a3b2-7c1e-7d40-9f1a-2b3c4d5e6f71",
    channel: "sms",
    status: "QUEUED",
    to: "+2348067000111",
    senderId: "Acme",
    flow: "STANDARD",
    body: "Hello",
    segments: 1,
    encoding: "GSM7",
    externalId: null,
    providerMessageId: null,
    error: null,
    createdAt: "2026-11-27T10:00:00Z",
    updatedAt: "2026-11-27T10:00:00Z",
    scheduledAt: null,
    ...overrides,
  };
}

export function apiError(status, code, message, details) {
  return { status, body: { error: { code, message, ...(details ? { details } : {}) } } };
}
