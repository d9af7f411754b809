import { Herald } from "@herald/sdk";
import { HeraldProvider, useMessage, useMessages, useSend } from "@herald/react";
import { useMemo, useState } from "react";

/** OTP messages, searchable, ten a page. */
export function OtpList() {
  const [query, setQuery] = useState("");
  const list = useMessages("sms", { filters: { flow: "OTP", query: query || undefined }, pageSize: 10 });

  return (
    <section>
      <input aria-label="Search" value={query} onChange={(event) => setQuery(event.target.value)} />
      {list.error && <p role="alert">{list.error.message}</p>}
      <ul aria-label="Messages" aria-busy={list.loading}>
        {list.data.map((message) => (
          <li key={message.id}>
            {message.to} {message.status}
          </li>
        ))}
      </ul>
      <button onClick={list.previousPage} disabled={!list.hasPreviousPage}>
        Previous
      </button>
      <span>
        Page {list.page} of {list.pageCount} ({list.total} messages)
      </span>
      <button onClick={list.nextPage} disabled={!list.hasNextPage}>
        Next
      </button>
    </section>
  );
}

/** One SMS, followed until its status is final, with its timeline. */
export function SmsStatus({ id }: { id: string }) {
  const { message, timeline, error } = useMessage("sms", id, { pollUntilFinal: true });
  if (error) return <p role="alert">{error.code}</p>;
  if (!message) return <p>Loading…</p>;
  return (
    <div>
      <p>Status: {message.status}</p>
      <ol aria-label="Timeline">
        {timeline.map((entry) => (
          <li key={entry.id}>{entry.type}</li>
        ))}
      </ol>
    </div>
  );
}

/** Sends a one-time code and follows it. */
export function SendOtp({ senderId }: { senderId: string }) {
  const [to, setTo] = useState("");
  const { send, sending, message, error } = useSend("sms");

  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        void send({ to, body: "Your code is 123456", senderId, flow: "OTP" });
      }}
    >
      <input aria-label="Phone number" value={to} onChange={(event) => setTo(event.target.value)} />
      <button disabled={sending}>Send code</button>
      {error && (
        <p role="alert">
          {error.code}
          {error.details.map((detail) => ` (${detail.field}: ${detail.message})`)}
        </p>
      )}
      {message && <SmsStatus id={message.id} />}
    </form>
  );
}

export function App({ baseUrl, apiKey, senderId }: { baseUrl: string; apiKey?: string; senderId: string }) {
  const client = useMemo(() => new Herald({ baseUrl, apiKey }), [baseUrl, apiKey]);
  return (
    <HeraldProvider client={client}>
      <SendOtp senderId={senderId} />
      <OtpList />
    </HeraldProvider>
  );
}
