/**
 * The API's models, named after the schemas of Herald's OpenAPI document (`openapi/public.json`).
 * The drift test compares every interface here with that document, field by field.
 */

/** One address (`addr` or `Name <addr>`), or a list of them. */
export type Recipients = string | string[];

/** Why a message failed. */
export interface MessageError {
  /** The provider's or Herald's code: `META_131026`, `PROVIDER_REJECTED`, `UNDELIV`. */
  code: string;
  /** What the provider said. */
  message: string;
}

export type SmsStatus = "QUEUED" | "PROCESSING" | "SENT" | "DELIVERED" | "FAILED" | "CANCELED";
export type EmailStatus =
  | "QUEUED"
  | "PROCESSING"
  | "SENT"
  | "DELIVERED"
  | "BOUNCED"
  | "COMPLAINED"
  | "FAILED"
  | "CANCELED";
export type WhatsappStatus = "QUEUED" | "PROCESSING" | "SENT" | "DELIVERED" | "READ" | "FAILED" | "CANCELED";
export type SmsFlow = "OTP" | "STANDARD";

/** An SMS as the API returns it (and as `sms_*` webhook events carry it in `data`). */
export interface SmsMessage {
  id: string;
  channel: "sms";
  status: SmsStatus;
  to: string;
  senderId: string;
  flow: SmsFlow;
  body: string;
  segments: number;
  encoding: "GSM7" | "UCS2";
  externalId?: string | null;
  providerMessageId?: string | null;
  error?: MessageError | null;
  createdAt: string;
  updatedAt: string;
  scheduledAt?: string | null;
}

/** Open and click tracking of an email. */
export interface Tracking {
  opens: boolean;
  clicks: boolean;
}

/** An attachment as a message shows it: the content is not returned. */
export interface AttachmentInfo {
  filename: string;
  contentType: string;
  /** Decoded size in bytes. */
  size: number;
}

/** An email as the API returns it (and as `email_*` webhook events carry it in `data`). */
export interface EmailMessage {
  id: string;
  channel: "email";
  status: EmailStatus;
  from: string;
  /** The recipients, always a list. */
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string[];
  subject: string;
  html?: string | null;
  text?: string | null;
  headers: Record<string, string>;
  tags: Record<string, string>;
  attachments: AttachmentInfo[];
  tracking: Tracking;
  /** Open hits so far. */
  opens: number;
  /** Click hits so far. */
  clicks: number;
  openedAt?: string | null;
  clickedAt?: string | null;
  externalId?: string | null;
  providerMessageId?: string | null;
  error?: MessageError | null;
  createdAt: string;
  updatedAt: string;
  scheduledAt?: string | null;
}

/** A WhatsApp text message. */
export interface WhatsappText {
  /** 1 to 4,096 characters. */
  body: string;
  /** Whether WhatsApp shows a preview of the first link (default false). */
  previewUrl?: boolean;
}

/** A WhatsApp template message. */
export interface WhatsappTemplate {
  /** An approved template's name. */
  name: string;
  /** Its language code (`en_US`). */
  language: string;
  /** Meta's own components, passed through. */
  components?: Record<string, unknown>[];
}

/** A WhatsApp message as the API returns it (and as `whatsapp_*` webhook events carry it in `data`). */
export interface WhatsappMessage {
  id: string;
  channel: "whatsapp";
  status: WhatsappStatus;
  to: string;
  type: "text" | "template";
  text?: WhatsappText | null;
  template?: WhatsappTemplate | null;
  externalId?: string | null;
  providerMessageId?: string | null;
  error?: MessageError | null;
  createdAt: string;
  updatedAt: string;
  scheduledAt?: string | null;
}

/** The body of `POST /v1/public/sms/send`, and each item of a batch. */
export interface SmsSend {
  /** E.164, with the leading `+`. */
  to: string;
  /** 1 to 1,600 characters. */
  body: string;
  /** A sender ID approved for the organization. */
  senderId: string;
  flow?: SmsFlow;
  externalId?: string;
  /** RFC 3339, not in the past, at most 30 days ahead. */
  scheduledAt?: string;
}

/** A file attached to an email. */
export interface Attachment {
  filename: string;
  /** The content, base64. */
  content: string;
  contentType: string;
}

/** The body of `POST /v1/public/emails/send`, and each item of a batch. */
export interface EmailSend {
  from: string;
  to: Recipients;
  cc?: Recipients;
  bcc?: Recipients;
  replyTo?: Recipients;
  subject: string;
  html?: string;
  text?: string;
  headers?: Record<string, string>;
  tags?: Record<string, string>;
  attachments?: Attachment[];
  tracking?: Tracking;
  externalId?: string;
  scheduledAt?: string;
}

/** The body of `POST /v1/public/whatsapp/send`, and each item of a batch. */
export interface WhatsappSend {
  to: string;
  type: "text" | "template";
  text?: WhatsappText;
  template?: WhatsappTemplate;
  externalId?: string;
  scheduledAt?: string;
}

export interface SmsBatchRequest {
  messages: SmsSend[];
}

export interface EmailBatchRequest {
  messages: EmailSend[];
}

export interface WhatsappBatchRequest {
  messages: WhatsappSend[];
}

/** The messages of a batch, QUEUED, in request order. */
export interface Batch<M> {
  data: M[];
}

export type SmsBatch = Batch<SmsMessage>;
export type EmailBatch = Batch<EmailMessage>;
export type WhatsappBatch = Batch<WhatsappMessage>;

/** One page of a list, newest first. */
export interface Page<T> {
  data: T[];
  /** The page number, from 1. */
  page: number;
  pageSize: number;
  /** Items matching the filters over all pages. */
  total: number;
}

export type SmsMessagePage = Page<SmsMessage>;
export type EmailMessagePage = Page<EmailMessage>;
export type WhatsappMessagePage = Page<WhatsappMessage>;

/** One entry of a message's timeline. */
export interface TimelineEntry {
  id: string;
  /** A status change's event type (`sms_delivered`), or `provider_response`, `receipt_ignored`, `note`, `email_opened`, `email_clicked`. */
  type: string;
  /** The status it moved the message to, for a status change. */
  status?: string | null;
  occurredAt: string;
  /** The raw provider payload or other detail, where there is one. */
  detail?: Record<string, unknown> | null;
}

/** A message's timeline, oldest first. */
export interface Timeline {
  data: TimelineEntry[];
}

/** Filters of every message list. Dates may be given as `Date` or RFC 3339 strings. */
export interface ListParams<S extends string> {
  status?: S;
  /** A substring of the recipient, content or externalId. */
  query?: string;
  createdFrom?: string | Date;
  createdTo?: string | Date;
  page?: number;
  pageSize?: number;
}

export interface SmsListParams extends ListParams<SmsStatus> {
  flow?: SmsFlow;
}

export type EmailListParams = ListParams<EmailStatus>;
export type WhatsappListParams = ListParams<WhatsappStatus>;

export interface PageParams {
  page?: number;
  pageSize?: number;
}

/** A sender ID the organization may send from. */
export interface ApprovedSenderId {
  senderId: string;
  approvedAt: string;
}

export type ApprovedSenderIdPage = Page<ApprovedSenderId>;

/** The range of `emails.stats`: UTC days, `YYYY-MM-DD`, both inclusive. */
export interface EmailStatsParams {
  from?: string;
  to?: string;
}

/** Messages counted once each, by what happened to them. */
export interface EmailCounts {
  queued: number;
  sent: number;
  delivered: number;
  bounced: number;
  complained: number;
  failed: number;
  opened: number;
  clicked: number;
}

/** The range's counts and rates (fractions 0..1). */
export interface EmailStatsTotals extends EmailCounts {
  deliveryRate: number;
  bounceRate: number;
  openRate: number;
  clickRate: number;
}

/** One UTC day's counts. */
export interface EmailStatsDay extends EmailCounts {
  date: string;
}

/** Email statistics over a range of UTC days. */
export interface EmailStats {
  from: string;
  to: string;
  totals: EmailStatsTotals;
  /** Each day of the range, oldest first. */
  daily: EmailStatsDay[];
}

export type Scope = "send:email" | "read:email" | "send:sms" | "read:sms" | "send:whatsapp" | "read:whatsapp";

/** The API key presented, as `GET /v1/public/key` answers it. */
export interface CurrentKey {
  id: string;
  name: string;
  /** Its first 12 characters. */
  prefix: string;
  scopes: Scope[];
  organizationId: string;
}

/** One invalid field of a request. */
export interface FieldError {
  /** The field's path in the body or query: `to`, `messages[3].to`. */
  field: string;
  message: string;
  /** A batch item's own error code. */
  code?: string;
}

export interface ErrorDetail {
  code: string;
  message: string;
  details?: FieldError[];
}

/** Every error response of the API. */
export interface ErrorBody {
  error: ErrorDetail;
}

export type SmsEventType = "sms_queued" | "sms_processing" | "sms_sent" | "sms_delivered" | "sms_failed" | "sms_canceled";
export type EmailEventType =
  | "email_queued"
  | "email_processing"
  | "email_sent"
  | "email_delivered"
  | "email_bounced"
  | "email_complained"
  | "email_failed"
  | "email_canceled"
  | "email_opened"
  | "email_clicked";
export type WhatsappEventType =
  | "whatsapp_queued"
  | "whatsapp_processing"
  | "whatsapp_sent"
  | "whatsapp_delivered"
  | "whatsapp_read"
  | "whatsapp_failed"
  | "whatsapp_canceled";
export type SmsOptOutEventType = "sms_opt_out";
export type WebhookTestEventType = "webhook_test";

/** A customer webhook event: deduplicate on `id` (the `webhook-id` header, the same on every retry). */
export interface WebhookEvent<T extends string, D> {
  id: string;
  type: T;
  createdAt: string;
  organizationId: string;
  data: D;
}

/** The body of `sms_opt_out` events' `data`. */
export interface SmsOptOutData {
  phoneNumber: string;
  action: "added" | "removed";
  source: "inbound" | "api";
  occurredAt: string;
}

/** The body of `webhook_test` events' `data`. */
export interface WebhookTestData {
  endpointId: string;
  message: string;
}

export type SmsEvent = WebhookEvent<SmsEventType, SmsMessage>;
export type EmailEvent = WebhookEvent<EmailEventType, EmailMessage>;
export type WhatsappEvent = WebhookEvent<WhatsappEventType, WhatsappMessage>;
export type SmsOptOutEvent = WebhookEvent<SmsOptOutEventType, SmsOptOutData>;
export type WebhookTestEvent = WebhookEvent<WebhookTestEventType, WebhookTestData>;

/** Every event Herald delivers; switch on `type` to narrow `data`. */
export type HeraldEvent = SmsEvent | EmailEvent | WhatsappEvent | SmsOptOutEvent | WebhookTestEvent;
