import { base64ToBytes, hmacSha256Verify, utf8 } from "./crypto.js";
import { WebhookVerificationError } from "./errors.js";
import type { HeraldEvent } from "./models.js";

/** Request headers: a `Headers` object (fetch, Next.js, …) or a plain object (Node's `req.headers`, Express). */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, in seconds (default 300); `Infinity` turns the check off. */
  toleranceSeconds?: number;
  /** The current time (default: the clock). */
  now?: Date;
}

const SECRET_PREFIX = "whsec_";

/**
 * Verifies a Standard Webhooks request from Herald and returns its event. Pass the raw body exactly as
 * received (not re-serialised JSON). `secrets` may list several secrets (a rotation): any one that
 * matches any `v1,` signature of the header verifies. Throws `WebhookVerificationError` otherwise.
 *
 * Events are delivered at least once: deduplicate on the event's `id` (the `webhook-id` header).
 */
export async function verifyWebhook(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secrets: string | string[],
  options: VerifyWebhookOptions = {},
): Promise<HeraldEvent> {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");

  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError("webhook-timestamp is not a unix time");
  const tolerance = options.toleranceSeconds ?? 300;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - Number(timestamp)) > tolerance) {
    throw new WebhookVerificationError("webhook-timestamp is outside the tolerance");
  }

  const body = typeof payload === "string" ? utf8(payload) : payload;
  const prefix = utf8(`${id}.${timestamp}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);

  const candidates = signatures
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => decodeBase64(entry.slice(3)))
    .filter((bytes): bytes is Uint8Array => bytes !== null);
  const keys = (Array.isArray(secrets) ? secrets : [secrets]).map(secretKey);

  for (const key of keys) {
    for (const candidate of candidates) {
      if (await hmacSha256Verify(key, candidate, signed)) return parseEvent(body);
    }
  }
  throw new WebhookVerificationError("no signature matches");
}

/**
 * Verifies Meta's `X-Hub-Signature-256` header (`sha256=<hex HMAC-SHA256 of the raw body>`, keyed with
 * the app secret) over the raw body, in constant time.
 */
export async function verifyMetaSignature(
  body: string | Uint8Array,
  signatureHeader: string | null | undefined,
  appSecret: string,
): Promise<boolean> {
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(signatureHeader?.trim() ?? "");
  if (match === null) return false;
  const signature = new Uint8Array(32);
  for (let i = 0; i < 32; i++) signature[i] = parseInt(match[1].slice(i * 2, i * 2 + 2), 16);
  return hmacSha256Verify(utf8(appSecret), signature, typeof body === "string" ? utf8(body) : body);
}

function header(headers: WebhookHeaders, name: string): string {
  let value: string | string[] | null | undefined;
  if (typeof (headers as Headers).get === "function") {
    value = (headers as Headers).get(name);
  } else {
    const entries = headers as Record<string, string | string[] | undefined>;
    const key = Object.keys(entries).find((candidate) => candidate.toLowerCase() === name);
    value = key === undefined ? undefined : entries[key];
  }
  const text = Array.isArray(value) ? value.join(" ") : value;
  if (text === null || text === undefined || text === "") throw new WebhookVerificationError(`missing ${name} header`);
  return text;
}

function secretKey(secret: string): Uint8Array {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = decodeBase64(encoded);
  if (key === null || key.length === 0) throw new TypeError("Herald: a webhook secret is not `whsec_` + base64");
  return key;
}

function decodeBase64(text: string): Uint8Array | null {
  try {
    return base64ToBytes(text);
  } catch {
    return null;
  }
}

function parseEvent(body: Uint8Array): HeraldEvent {
  try {
    return JSON.parse(new TextDecoder().decode(body)) as HeraldEvent;
  } catch {
    throw new WebhookVerificationError("the payload is not JSON");
  }
}
