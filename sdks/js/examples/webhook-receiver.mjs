import { createServer } from "node:http";
import { verifyWebhook, WebhookVerificationError } from "@herald/sdk";

// During a rotation, list both secrets: HERALD_WEBHOOK_SECRET="whsec_new whsec_old".
const secrets = process.env.HERALD_WEBHOOK_SECRET.split(" ");

// Herald delivers each event at least once: remember the ids handled (in production, a table with a
// unique key on the event id) and acknowledge repeats without handling them again.
const handled = new Set();

const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const rawBody = Buffer.concat(chunks); // verify the bytes received, never re-serialised JSON

  let event;
  try {
    event = await verifyWebhook(rawBody, req.headers, secrets);
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    res.writeHead(400).end();
    return;
  }

  if (!handled.has(event.id)) {
    handled.add(event.id);
    switch (event.type) {
      case "sms_delivered":
        console.log("delivered", event.data.id, event.data.to);
        break;
      case "sms_opt_out":
        console.log("opt-out", event.data.phoneNumber, event.data.action);
        break;
      default:
        console.log("event", event.type);
    }
  }
  res.writeHead(204).end();
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
