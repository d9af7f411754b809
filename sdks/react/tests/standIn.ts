import { createServer, type IncomingHttpHeaders } from "node:http";

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface Answer {
  status: number;
  body?: unknown;
}

export interface StandIn {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 standing in for Herald; it records every request it answers. */
export async function standIn(handler: (request: Recorded) => Answer): Promise<StandIn> {
  const requests: Recorded[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://stand-in");
    const request: Recorded = {
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: text === "" ? undefined : JSON.parse(text),
    };
    requests.push(request);
    const answer = handler(request);
    res.writeHead(answer.status, { "Content-Type": "application/json", "X-Request-Id": `req-${requests.length}` });
    res.end(typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? null));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the stand-in has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sms(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    channel: "sms",
    status: "DELIVERED",
    to: `+23480670001${id.slice(-2)}`,
    senderId: "Acme",
    flow: "OTP",
    body: "Your code is 123456",
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

export function apiError(status: number, code: string, message: string, details?: unknown[]): Answer {
  return { status, body: { error: { code, message, ...(details ? { details } : {}) } } };
}
