import { Herald, type SmsListParams } from "@herald/sdk";
import { HeraldProvider, useMessage, useMessages, useSend } from "@herald/react";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { Component, type ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { apiError, sms, standIn, type Answer, type Recorded, type StandIn } from "./standIn";

let server: StandIn;
let route: (request: Recorded) => Answer;

beforeEach(async () => {
  server = await standIn((request) => route(request));
});

afterEach(async () => {
  cleanup();
  await server.close();
});

function withClient(children: ReactNode) {
  return <HeraldProvider client={new Herald({ apiKey: "hk_test", baseUrl: server.url })}>{children}</HeraldProvider>;
}

const requestsTo = (path: string) => server.requests.filter((r) => r.path === path);

describe("useMessages", () => {
  const all = ["m05", "m04", "m03", "m02", "m01"].map((id) => sms(id));

  beforeEach(() => {
    route = (request) => {
      if (request.query.status === "LOST") return apiError(422, "VALIDATION_ERROR", "status is not valid", [{ field: "status", message: "unknown" }]);
      const matching = all.filter((m) => !request.query.query || m.id.includes(request.query.query));
      const page = Number(request.query.page);
      const pageSize = Number(request.query.pageSize);
      const data = matching.slice((page - 1) * pageSize, page * pageSize);
      return { status: 200, body: { data, page, pageSize, total: matching.length } };
    };
  });

  function List({ filters }: { filters: Omit<SmsListParams, "page" | "pageSize"> }) {
    const list = useMessages("sms", { filters, pageSize: 2 });
    return (
      <div>
        <p data-testid="ids">{list.data.map((m) => m.id).join(",")}</p>
        <p data-testid="paging">
          page {list.page} of {list.pageCount}, total {list.total}, next {String(list.hasNextPage)}, previous{" "}
          {String(list.hasPreviousPage)}, loading {String(list.loading)}
        </p>
        {list.error && (
          <p role="alert">
            {list.error.status} {list.error.code} {list.error.details[0]?.field} {list.error.requestId}
          </p>
        )}
        <button onClick={list.nextPage}>next</button>
        <button onClick={list.previousPage}>previous</button>
        <button onClick={list.refetch}>refetch</button>
      </div>
    );
  }

  it("lists a page with its filters and moves between pages", async () => {
    render(withClient(<List filters={{ flow: "OTP", status: "DELIVERED" }} />));
    await waitFor(() => expect(screen.getByTestId("ids").textContent).toBe("m05,m04"));
    expect(screen.getByTestId("paging").textContent).toBe(
      "page 1 of 3, total 5, next true, previous false, loading false",
    );
    expect(server.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ["GET", "/v1/public/sms", { flow: "OTP", status: "DELIVERED", page: "1", pageSize: "2" }],
    ]);

    fireEvent.click(screen.getByText("next"));
    await waitFor(() => expect(screen.getByTestId("ids").textContent).toBe("m03,m02"));
    fireEvent.click(screen.getByText("next"));
    await waitFor(() => expect(screen.getByTestId("ids").textContent).toBe("m01"));
    expect(screen.getByTestId("paging").textContent).toContain("page 3 of 3, total 5, next false, previous true");
    fireEvent.click(screen.getByText("next"));
    fireEvent.click(screen.getByText("previous"));
    await waitFor(() => expect(screen.getByTestId("ids").textContent).toBe("m03,m02"));
    expect(server.requests.map((r) => r.query.page)).toEqual(["1", "2", "3", "2"]);
  });

  it("goes back to the first page when the filters change, and not when they are only re-created", async () => {
    const { rerender } = render(withClient(<List filters={{ flow: "OTP" }} />));
    await waitFor(() => expect(screen.getByTestId("ids").textContent).toBe("m05,m04"));
    fireEvent.click(screen.getByText("next"));
    await waitFor(() => expect(screen.getByTestId("ids").textContent).toBe("m03,m02"));

    rerender(withClient(<List filters={{ flow: "OTP" }} />));
    rerender(withClient(<List filters={{ flow: "OTP" }} />));
    expect(server.requests).toHaveLength(2);

    rerender(withClient(<List filters={{ flow: "OTP", query: "m03" }} />));
    await waitFor(() => expect(screen.getByTestId("ids").textContent).toBe("m03"));
    expect(server.requests.at(-1)?.query).toEqual({ flow: "OTP", query: "m03", page: "1", pageSize: "2" });
    expect(screen.getByTestId("paging").textContent).toContain("page 1 of 1, total 1");
  });

  it("fetches again on refetch", async () => {
    render(withClient(<List filters={{}} />));
    await waitFor(() => expect(server.requests).toHaveLength(1));
    fireEvent.click(screen.getByText("refetch"));
    await waitFor(() => expect(server.requests).toHaveLength(2));
    expect(server.requests[1].query).toEqual(server.requests[0].query);
  });

  it("shows the API's error, typed", async () => {
    render(withClient(<List filters={{ status: "LOST" as never }} />));
    expect((await screen.findByRole("alert")).textContent).toBe("422 VALIDATION_ERROR status req-1");
    expect(screen.getByTestId("paging").textContent).toContain("loading false");
  });
});

describe("useMessage", () => {
  const progress = [
    { status: "QUEUED", types: ["sms_queued"] },
    { status: "SENT", types: ["sms_queued", "sms_processing", "sms_sent"] },
    { status: "DELIVERED", types: ["sms_queued", "sms_processing", "sms_sent", "sms_delivered"] },
  ];

  beforeEach(() => {
    route = (request) => {
      if (!request.path.startsWith("/v1/public/sms/m1")) return apiError(404, "NOT_FOUND", "no such message");
      // The n-th get and the n-th timeline (fetched together) see the n-th step.
      const round = requestsTo(request.path).length;
      const step = progress[Math.min(round, progress.length) - 1];
      if (request.path.endsWith("/timeline")) {
        const types = step.types;
        return {
          status: 200,
          body: { data: types.map((type, i) => ({ id: `e${i}`, type, status: null, occurredAt: "2026-11-27T10:00:00Z", detail: null })) },
        };
      }
      return { status: 200, body: sms("m1", { status: step.status }) };
    };
  });

  function Detail({ id, poll }: { id: string | null; poll: boolean }) {
    const { message, timeline, loading, error } = useMessage("sms", id, { pollUntilFinal: poll, pollIntervalMs: 30 });
    return (
      <div>
        <p data-testid="status">{message?.status ?? "none"}</p>
        <p data-testid="timeline">{timeline.map((entry) => entry.type).join(",")}</p>
        <p data-testid="loading">{String(loading)}</p>
        {error && <p role="alert">{`${error.status} ${error.code}`}</p>}
      </div>
    );
  }

  it("loads the message and its timeline once without polling", async () => {
    render(withClient(<Detail id="m1" poll={false} />));
    await waitFor(() => expect(screen.getByTestId("status").textContent).toBe("QUEUED"));
    expect(screen.getByTestId("timeline").textContent).toBe("sms_queued");
    expect(screen.getByTestId("loading").textContent).toBe("false");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.requests.map((r) => r.path).sort()).toEqual(["/v1/public/sms/m1", "/v1/public/sms/m1/timeline"]);
  });

  it("polls until the status is final, then stops", async () => {
    render(withClient(<Detail id="m1" poll />));
    await waitFor(() => expect(screen.getByTestId("status").textContent).toBe("DELIVERED"));
    expect(screen.getByTestId("timeline").textContent).toBe("sms_queued,sms_processing,sms_sent,sms_delivered");
    const settled = server.requests.length;
    expect(settled).toBe(6);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(server.requests).toHaveLength(settled);
  });

  it("shows a missing message as NOT_FOUND", async () => {
    render(withClient(<Detail id="m404" poll />));
    expect((await screen.findByRole("alert")).textContent).toBe("404 NOT_FOUND");
    expect(screen.getByTestId("status").textContent).toBe("none");
  });

  it("does nothing without an id", async () => {
    render(withClient(<Detail id={null} poll />));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.requests).toHaveLength(0);
    expect(screen.getByTestId("loading").textContent).toBe("false");
  });
});

describe("useSend", () => {
  function Sender({ onSent }: { onSent: (value: unknown) => void }) {
    const { send, status, message, error } = useSend("sms");
    return (
      <div>
        <button onClick={() => send({ to: "+2348067000111", body: "Hi", senderId: "Acme" }).then(onSent)}>send</button>
        <p data-testid="state">{`${status} ${message?.id ?? "-"}`}</p>
        {error && <p role="alert">{`${error.status} ${error.code} ${error.details.map((d) => d.field).join(",")} ${error.requestId}`}</p>}
      </div>
    );
  }

  it("sends and keeps the created message", async () => {
    route = () => ({ status: 202, body: sms("m9", { status: "QUEUED" }) });
    const onSent = vi.fn();
    render(withClient(<Sender onSent={onSent} />));
    expect(screen.getByTestId("state").textContent).toBe("idle -");
    fireEvent.click(screen.getByText("send"));
    await waitFor(() => expect(screen.getByTestId("state").textContent).toBe("sent m9"));
    expect(onSent).toHaveBeenCalledWith(expect.objectContaining({ id: "m9", status: "QUEUED" }));
    const [request] = server.requests;
    expect([request.method, request.path, request.body]).toEqual([
      "POST",
      "/v1/public/sms/send",
      { to: "+2348067000111", body: "Hi", senderId: "Acme" },
    ]);
    expect(request.headers["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("keeps the API's refusal as a typed error", async () => {
    route = () => apiError(422, "SENDER_ID_NOT_APPROVED", "sender ID not approved", [{ field: "senderId", message: "not approved" }]);
    const onSent = vi.fn();
    render(withClient(<Sender onSent={onSent} />));
    fireEvent.click(screen.getByText("send"));
    expect((await screen.findByRole("alert")).textContent).toBe("422 SENDER_ID_NOT_APPROVED senderId req-1");
    expect(screen.getByTestId("state").textContent).toBe("failed -");
    expect(onSent).toHaveBeenCalledWith(undefined);
  });
});

describe("failures that are not the API's", () => {
  class Boundary extends Component<{ children: ReactNode }, { error: Error | null }> {
    state = { error: null as Error | null };
    static getDerivedStateFromError(error: Error) {
      return { error };
    }
    render() {
      return this.state.error ? <p role="alert">{`caught ${this.state.error.name}`}</p> : this.props.children;
    }
  }

  function Probe() {
    useMessages("emails");
    return <p>listed</p>;
  }

  it("needs a provider", () => {
    const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(() => render(<Probe />)).toThrow("Herald hooks need a <HeraldProvider client={…}> around them");
    quiet.mockRestore();
  });

  it("throws a malformed answer to the nearest error boundary", async () => {
    route = () => ({ status: 200, body: "{not json" });
    const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
    await act(async () => {
      render(withClient(<Boundary><Probe /></Boundary>));
    });
    expect((await screen.findByRole("alert")).textContent).toBe("caught SyntaxError");
    quiet.mockRestore();
  });
});
