import type {
  EmailListParams,
  EmailMessage,
  EmailSend,
  EmailStatus,
  SmsListParams,
  SmsMessage,
  SmsSend,
  SmsStatus,
  WhatsappListParams,
  WhatsappMessage,
  WhatsappSend,
  WhatsappStatus,
} from "./models.js";

/** The types of each channel, by the name of its resource on the client (`herald.sms`, …). */
export interface Channels {
  sms: { message: SmsMessage; send: SmsSend; listParams: SmsListParams; status: SmsStatus };
  emails: { message: EmailMessage; send: EmailSend; listParams: EmailListParams; status: EmailStatus };
  whatsapp: { message: WhatsappMessage; send: WhatsappSend; listParams: WhatsappListParams; status: WhatsappStatus };
}

export type ChannelName = keyof Channels;

export type AnyMessage = SmsMessage | EmailMessage | WhatsappMessage;

/**
 * Statuses after which a message does not change any more (an email DELIVERED may still become
 * COMPLAINED, but rarely and much later, so it counts as final; a WhatsApp message DELIVERED is
 * normally READ next, so it does not).
 */
export const FINAL_STATUSES = {
  sms: ["DELIVERED", "FAILED", "CANCELED"],
  email: ["DELIVERED", "BOUNCED", "COMPLAINED", "FAILED", "CANCELED"],
  whatsapp: ["READ", "FAILED", "CANCELED"],
} as const satisfies { [C in AnyMessage["channel"]]: readonly Extract<AnyMessage, { channel: C }>["status"][] };

/** Whether the message has reached a status it will not leave. */
export function isFinal(message: AnyMessage): boolean {
  return (FINAL_STATUSES[message.channel] as readonly string[]).includes(message.status);
}
