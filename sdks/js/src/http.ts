import { HeraldError } from "./errors.js";
import type { ErrorBody } from "./models.js";
import type { Operation } from "./operations.js";
import { VERSION } from "./version.js";

export const CLIENT_NAME = `herald-js/${VERSION}`;

export interface HeraldOptions {
  /** An API key (`hk_…`). Leave it out only when `baseUrl` is your own backend, which adds it. */
  apiKey?: string;
  /** Where Herald answers, e.g. `https://herald.example.com`. */
  baseUrl: string;
  /** Time-out of each attempt, in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Retries after the first attempt on 429, 5xx, connection errors and time-outs (default 3). */
  maxRetries?: number;
  /** A `fetch` implementation (default: the global one). */
  fetch?: typeof fetch;
}

/** Options of one call. */
export interface RequestOptions {
  /** Aborts the call, retries included. */
  signal?: AbortSignal;
}

/** Options of a send or a batch. */
export interface SendOptions extends RequestOptions {
  /**
   * The `Idempotency-Key` (1..255 characters). When left out the SDK makes a random UUID; either way
   * the key is reused on the SDK's own retries, so a retried send never makes a second message.
   */
  idempotencyKey?: string;
}

export interface Call {
  operation: Operation;
  pathParams?: Record<string, string>;
  /** Query parameters: `undefined` ones are left out, dates sent as RFC 3339. */
  query?: object;
  body?: unknown;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;
/** A longer `Retry-After` is not waited for: the error is returned to the caller. */
const MAX_RETRY_AFTER_MS = 60_000;

/** Sends the API's requests: authentication, time-outs, retries with backoff, typed errors. */
export class HttpClient {
  readonly #apiKey: string | undefined;
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #fetch: typeof fetch;

  constructor(options: HeraldOptions) {
    if (!options.baseUrl) throw new TypeError("Herald: baseUrl is required");
    this.#apiKey = options.apiKey;
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxRetries = options.maxRetries ?? 3;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") throw new TypeError("Herald: no fetch available; pass options.fetch");
    // Called unbound: browsers refuse `fetch` called on another object than the window.
    this.#fetch = (input, init) => fetchImpl(input, init);
  }

  async call<T>(call: Call): Promise<T> {
    const url = this.#url(call);
    const headers = this.#headers(call.body !== undefined);
    if (call.idempotencyKey !== undefined) headers["Idempotency-Key"] = call.idempotencyKey;
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);

    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#attempt(url, call.operation.method, headers, body, call.signal);
      if (outcome instanceof HeraldError) {
        if (attempt >= this.#maxRetries) throw outcome;
        await sleep(backoffMs(attempt), call.signal);
        continue;
      }
      const retryAfter = retryAfterMs(outcome.headers.get("Retry-After"));
      const retry =
        isRetryableStatus(outcome.status) &&
        attempt < this.#maxRetries &&
        (retryAfter === null || retryAfter <= MAX_RETRY_AFTER_MS);
      if (!retry) return readAnswer<T>(outcome);
      await sleep(retryAfter ?? backoffMs(attempt), call.signal);
    }
  }

  #url(call: Call): string {
    const path = call.operation.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = call.pathParams?.[name];
      if (value === undefined || value === "") throw new TypeError(`Herald: ${name} is required`);
      return encodeURIComponent(value);
    });
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(call.query ?? {}) as [string, unknown][]) {
      if (value === undefined) continue;
      search.set(name, value instanceof Date ? value.toISOString() : String(value));
    }
    const query = search.toString();
    return `${this.#baseUrl}${path}${query ? `?${query}` : ""}`;
  }

  #headers(hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      "X-Herald-Client": CLIENT_NAME,
    };
    if (this.#apiKey !== undefined) headers.Authorization = `Bearer ${this.#apiKey}`;
    if (hasBody) headers["Content-Type"] = "application/json";
    if (isNode()) headers["User-Agent"] = CLIENT_NAME;
    return headers;
  }

  async #attempt(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Answer | HeraldError> {
    signal?.throwIfAborted();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#timeoutMs);
    const forwardAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", forwardAbort);
    try {
      const response = await this.#fetch(url, { method, headers, body, signal: controller.signal });
      // Read the body under the time-out too, so a stalled answer counts as one.
      return { status: response.status, headers: response.headers, text: await response.text() };
    } catch (cause) {
      if (signal?.aborted) throw signal.reason;
      return timedOut
        ? new HeraldError({ status: 0, code: "TIMEOUT", message: `no answer within ${this.#timeoutMs} ms`, cause })
        : new HeraldError({ status: 0, code: "CONNECTION_ERROR", message: describe(cause), cause });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", forwardAbort);
    }
  }
}

/** An answer, its body read. */
interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

function readAnswer<T>(response: Answer): T {
  const requestId = response.headers.get("X-Request-Id");
  const text = response.text;
  if (response.status >= 200 && response.status < 300) return (text === "" ? undefined : JSON.parse(text)) as T;

  let parsed: Partial<ErrorBody> | undefined;
  try {
    parsed = JSON.parse(text) as Partial<ErrorBody>;
  } catch {
    parsed = undefined;
  }
  const error = parsed?.error;
  if (error && typeof error.code === "string") {
    throw new HeraldError({
      status: response.status,
      code: error.code,
      message: error.message ?? error.code,
      details: error.details ?? [],
      requestId,
    });
  }
  throw new HeraldError({
    status: response.status,
    code: `HTTP_${response.status}`,
    message: text.slice(0, 200) || `HTTP ${response.status}`,
    requestId,
  });
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(header: string | null): number | null {
  if (header === null || header.trim() === "") return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/** Exponential backoff with jitter: between half and all of 500 ms × 2^attempt, at most 8 s. */
export function backoffMs(attempt: number): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function isNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof process?.versions?.node === "string";
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause;
    return inner instanceof Error ? `${cause.message}: ${inner.message}` : cause.message;
  }
  return String(cause);
}
