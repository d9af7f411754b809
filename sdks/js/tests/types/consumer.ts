// Compiled (not run) by ./test: the published declarations type a user's code as the README shows it.
import {
  Herald,
  HeraldError,
  verifyWebhook,
  type CurrentKey,
  type EmailStats,
  type HeraldEvent,
  type SmsMessage,
  type Timeline,
  type WhatsappMessage,
} from "@herald/sdk";

const herald = new Herald({ apiKey: "hk_x", baseUrl: "https://herald.example.com", timeoutMs: 5000, maxRetries: 1 });

export async function usage(): Promise<void> {
  const sms: SmsMessage = await herald.sms.send({ to: "+2348067000111", body: "Hi", senderId: "Acme", flow: "OTP" });
  const whatsapp: WhatsappMessage = await herald.whatsapp.send(
    { to: "+2348067000111", type: "template", template: { name: "order_update", language: "en_US" } },
    { idempotencyKey: sms.id },
  );
  // @ts-expect-error an SMS needs a senderId
  await herald.sms.send({ to: "+2348067000111", body: "Hi" });
  // @ts-expect-error READ is not an email status
  await herald.emails.list({ status: "READ" });

  const batch: SmsMessage[] = (await herald.sms.batch([{ to: "+2348067000111", body: "Hi", senderId: "Acme" }])).data;
  const page = await herald.emails.list({ status: "BOUNCED", createdFrom: new Date(), pageSize: 50 });
  const recipients: string[] = page.data[0].to;
  for await (const message of herald.whatsapp.iterate({ query: whatsapp.to })) {
    const status: "READ" | "DELIVERED" | string = message.status;
    void status;
  }
  const timeline: Timeline = await herald.sms.timeline(batch[0].id);
  const stats: EmailStats = await herald.emails.stats({ from: "2026-11-01", to: "2026-11-30" });
  const key: CurrentKey = await herald.key();
  const senderIds: string[] = (await herald.sms.senderIds()).data.map((s) => s.senderId);
  void [recipients, timeline, stats.totals.deliveryRate, key.scopes, senderIds];

  try {
    await herald.sms.cancel(sms.id);
  } catch (error) {
    if (error instanceof HeraldError) {
      const fields: string[] = error.details.map((d) => d.field);
      void [error.status, error.code, error.requestId, fields];
    }
  }

  const event: HeraldEvent = await verifyWebhook("{}", new Headers(), ["whsec_a", "whsec_b"], { toleranceSeconds: 60 });
  switch (event.type) {
    case "sms_opt_out": {
      const phoneNumber: string = event.data.phoneNumber;
      void phoneNumber;
      break;
    }
    case "email_opened": {
      const opens: number = event.data.opens;
      void opens;
      break;
    }
    case "sms_delivered": {
      const segments: number = event.data.segments;
      void segments;
      break;
    }
  }
}
