import { Herald } from "@herald/sdk";

const herald = new Herald({
  apiKey: process.env.HERALD_API_KEY,
  baseUrl: process.env.HERALD_BASE_URL,
});

// One page, newest first, with filters.
const page = await herald.sms.list({ flow: "OTP", status: "DELIVERED", page: 1, pageSize: 10 });
console.log(`${page.total} delivered OTP messages; this page has ${page.data.length}`);

// Every page, fetched as you go.
const since = new Date(Date.now() - 24 * 60 * 60 * 1000);
let count = 0;
for await (const email of herald.emails.iterate({ query: "zoe@example.com", createdFrom: since })) {
  count += 1;
  if (count === 1) console.log("latest email to zoe:", email.subject, email.status);
}
console.log(`${count} emails to zoe in the last 24 hours`);

// One message and everything that happened to it, oldest first.
if (page.data.length > 0) {
  const { data: timeline } = await herald.sms.timeline(page.data[0].id);
  for (const entry of timeline) console.log(entry.occurredAt, entry.type);
}
