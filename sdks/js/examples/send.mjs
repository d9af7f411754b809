import { Herald, HeraldError } from "@herald/sdk";

const herald = new Herald({
  apiKey: process.env.HERALD_API_KEY,
  baseUrl: process.env.HERALD_BASE_URL,
});

// Every send answers at once with the message QUEUED; delivery happens in the background.
const sms = await herald.sms.send({
  to: "+2348067000111",
  body: "Your code is 123456",
  senderId: process.env.HERALD_SMS_SENDER_ID,
  flow: "OTP",
});
console.log("sms", sms.id, sms.status);

const email = await herald.emails.send({
  from: "Acme <billing@acme.test>",
  to: "zoe@example.com",
  subject: "Your receipt",
  html: "<p>Thanks for your order.</p>",
  tags: { category: "receipt" },
});
console.log("email", email.id, email.status);

// An Idempotency-Key of your own makes a send safe to repeat (the SDK makes one per call otherwise).
const whatsapp = await herald.whatsapp.send(
  { to: "+2348067000112", type: "text", text: { body: "Your order has shipped" } },
  { idempotencyKey: `shipped-${email.id}` },
);
console.log("whatsapp", whatsapp.id, whatsapp.status);

try {
  await herald.sms.send({ to: "+2348067000111", body: "Hi", senderId: "NOTAPPROVED" });
} catch (error) {
  if (!(error instanceof HeraldError)) throw error;
  console.log("refused", error.status, error.code, error.requestId);
}
