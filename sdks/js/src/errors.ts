import type { FieldError } from "./models.js";

/**
 * An API call that failed. `status` is the HTTP status (0 when no answer came: `code` is then
 * `CONNECTION_ERROR` or `TIMEOUT`); `code` is the API's UPPER_SNAKE error code; `requestId` is the
 * answer's `X-Request-Id`, to quote when asking for help.
 */
export class HeraldError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: FieldError[];
  readonly requestId: string | null;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    details?: FieldError[];
    requestId?: string | null;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "HeraldError";
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? [];
    this.requestId = init.requestId ?? null;
  }
}

/** A webhook request whose headers, signature or timestamp did not verify. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookVerificationError";
  }
}
