import { randomUuid } from "./crypto.js";
import type { HttpClient, RequestOptions, SendOptions } from "./http.js";
import type {
  ApprovedSenderIdPage,
  Batch,
  EmailListParams,
  EmailMessage,
  EmailSend,
  EmailStats,
  EmailStatsParams,
  Page,
  PageParams,
  SmsListParams,
  SmsMessage,
  SmsSend,
  Timeline,
  WhatsappListParams,
  WhatsappMessage,
  WhatsappSend,
} from "./models.js";
import { OPERATIONS, type OperationId } from "./operations.js";

interface ChannelOperations {
  send: OperationId;
  batch: OperationId;
  list: OperationId;
  get: OperationId;
  timeline: OperationId;
  cancel: OperationId;
}

/** The six routes every channel has: send, batch, list (and every page of it), get, timeline, cancel. */
export class MessagesResource<M, S, P extends PageParams> {
  protected readonly http: HttpClient;
  readonly #operations: ChannelOperations;

  constructor(http: HttpClient, operations: ChannelOperations) {
    this.http = http;
    this.#operations = operations;
  }

  /** Sends one message; answers it QUEUED. */
  async send(message: S, options: SendOptions = {}): Promise<M> {
    return this.http.call<M>({
      operation: OPERATIONS[this.#operations.send],
      body: message,
      idempotencyKey: options.idempotencyKey ?? (await randomUuid()),
      signal: options.signal,
    });
  }

  /** Sends up to 100 messages, all or nothing; answers them QUEUED, in request order. */
  async batch(messages: S[], options: SendOptions = {}): Promise<Batch<M>> {
    return this.http.call<Batch<M>>({
      operation: OPERATIONS[this.#operations.batch],
      body: { messages },
      idempotencyKey: options.idempotencyKey ?? (await randomUuid()),
      signal: options.signal,
    });
  }

  /** One page of messages, newest first. */
  list(params: P = {} as P, options: RequestOptions = {}): Promise<Page<M>> {
    return this.http.call<Page<M>>({
      operation: OPERATIONS[this.#operations.list],
      query: params,
      signal: options.signal,
    });
  }

  /** Every message matching the filters, newest first, fetching page after page (from `params.page`, default 1). */
  async *iterate(params: P = {} as P, options: RequestOptions = {}): AsyncGenerator<M, void, undefined> {
    for (let page = params.page ?? 1; ; page++) {
      const answer = await this.list({ ...params, page }, options);
      yield* answer.data;
      if (answer.data.length === 0 || answer.page * answer.pageSize >= answer.total) return;
    }
  }

  /** One message with its current status. */
  get(id: string, options: RequestOptions = {}): Promise<M> {
    return this.http.call<M>({ operation: OPERATIONS[this.#operations.get], pathParams: { id }, signal: options.signal });
  }

  /** Everything that happened to a message, oldest first. */
  timeline(id: string, options: RequestOptions = {}): Promise<Timeline> {
    return this.http.call<Timeline>({
      operation: OPERATIONS[this.#operations.timeline],
      pathParams: { id },
      signal: options.signal,
    });
  }

  /** Cancels a message still QUEUED (typically scheduled); a 409 CONFLICT otherwise. */
  cancel(id: string, options: RequestOptions = {}): Promise<M> {
    return this.http.call<M>({
      operation: OPERATIONS[this.#operations.cancel],
      pathParams: { id },
      signal: options.signal,
    });
  }
}

export class SmsResource extends MessagesResource<SmsMessage, SmsSend, SmsListParams> {
  constructor(http: HttpClient) {
    super(http, {
      send: "sendSms",
      batch: "sendSmsBatch",
      list: "listSms",
      get: "getSms",
      timeline: "getSmsTimeline",
      cancel: "cancelSms",
    });
  }

  /** The sender IDs approved for the organization. */
  senderIds(params: PageParams = {}, options: RequestOptions = {}): Promise<ApprovedSenderIdPage> {
    return this.http.call<ApprovedSenderIdPage>({
      operation: OPERATIONS.listSenderIds,
      query: params,
      signal: options.signal,
    });
  }
}

export class EmailsResource extends MessagesResource<EmailMessage, EmailSend, EmailListParams> {
  constructor(http: HttpClient) {
    super(http, {
      send: "sendEmail",
      batch: "sendEmailBatch",
      list: "listEmails",
      get: "getEmail",
      timeline: "getEmailTimeline",
      cancel: "cancelEmail",
    });
  }

  /** Counts and rates over a range of UTC days (`YYYY-MM-DD`, both inclusive; default the last 30 days). */
  stats(params: EmailStatsParams = {}, options: RequestOptions = {}): Promise<EmailStats> {
    return this.http.call<EmailStats>({ operation: OPERATIONS.getEmailStats, query: params, signal: options.signal });
  }
}

export class WhatsappResource extends MessagesResource<WhatsappMessage, WhatsappSend, WhatsappListParams> {
  constructor(http: HttpClient) {
    super(http, {
      send: "sendWhatsapp",
      batch: "sendWhatsappBatch",
      list: "listWhatsapp",
      get: "getWhatsapp",
      timeline: "getWhatsappTimeline",
      cancel: "cancelWhatsapp",
    });
  }
}
