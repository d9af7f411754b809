import { App } from "../examples/OtpDashboard";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { apiError, sms, standIn } from "./standIn";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

afterEach(cleanup);

function sendTo(phoneNumber: string) {
  fireEvent.change(screen.getByLabelText("Phone number"), { target: { value: phoneNumber } });
  fireEvent.click(screen.getByText("Send code"));
}

describe("README", () => {
  it("includes the example component verbatim", () => {
    const included = [...read("README.md").matchAll(/<!-- include: (\S+) -->\n```tsx\n([\s\S]*?)```/g)];
    expect(included.map(([, path]) => path)).toEqual(["examples/OtpDashboard.tsx"]);
    for (const [, path, code] of included) expect(code).toBe(read(path));
  });

  it("has a CHANGELOG entry for the package's version", () => {
    const { version } = JSON.parse(read("package.json"));
    expect(read("CHANGELOG.md")).toMatch(new RegExp(`^## ${version.replaceAll(".", "\\.")}$`, "m"));
  });
});

describe("the README example against a stand-in server", () => {
  it("sends, follows the message to DELIVERED, lists and searches", async () => {
    const sent: ReturnType<typeof sms>[] = [];
    const server = await standIn((request) => {
      if (request.path === "/v1/public/sms/send") {
        const body = request.body as { to: string };
        if (!body.to.startsWith("+")) return apiError(422, "VALIDATION_ERROR", "invalid", [{ field: "to", message: "must be E.164" }]);
        sent.unshift(sms(`m${sent.length + 1}`, { to: body.to, status: "QUEUED" }));
        return { status: 202, body: sent[0] };
      }
      if (request.path === "/v1/public/sms") {
        const matching = sent.filter((m) => !request.query.query || m.to.includes(request.query.query));
        return { status: 200, body: { data: matching, page: 1, pageSize: 10, total: matching.length } };
      }
      const message = sent.find((m) => request.path.startsWith(`/v1/public/sms/${m.id}`));
      if (!message) return apiError(404, "NOT_FOUND", "no such message");
      if (request.path.endsWith("/timeline")) {
        const types = message.status === "QUEUED" ? ["sms_queued"] : ["sms_queued", "sms_delivered"];
        return { status: 200, body: { data: types.map((type, i) => ({ id: `e${i}`, type, occurredAt: "2026-11-27T10:00:00Z" })) } };
      }
      const answer = { ...message };
      message.status = "DELIVERED";
      return { status: 200, body: answer };
    });
    try {
      render(<App baseUrl={server.url} apiKey="hk_test" senderId="Acme" />);
      expect(await screen.findByText("Page 1 of 1 (0 messages)")).toBeTruthy();

      sendTo("+2348067000111");
      expect(await screen.findByText("Status: DELIVERED", {}, { timeout: 5000 })).toBeTruthy();
      const timeline = within(screen.getByRole("list", { name: "Timeline" }));
      expect(timeline.getAllByRole("listitem").map((item) => item.textContent)).toEqual(["sms_queued", "sms_delivered"]);
      expect(server.requests.find((r) => r.path === "/v1/public/sms/send")?.body).toEqual({
        to: "+2348067000111",
        body: "Your code is 123456",
        senderId: "Acme",
        flow: "OTP",
      });

      sendTo("+2348067000222");
      await screen.findByText("Status: DELIVERED", {}, { timeout: 5000 });
      fireEvent.change(screen.getByLabelText("Search"), { target: { value: "000222" } });
      await waitFor(() => expect(screen.getByText("Page 1 of 1 (1 messages)")).toBeTruthy());
      const listed = within(screen.getByRole("list", { name: "Messages" }));
      expect(listed.getAllByRole("listitem").map((item) => item.textContent)).toEqual(["+2348067000222 DELIVERED"]);
      expect(server.requests.filter((r) => r.path === "/v1/public/sms").at(-1)?.query).toEqual({
        flow: "OTP",
        query: "000222",
        page: "1",
        pageSize: "10",
      });

      sendTo("2348067000333");
      expect((await screen.findByRole("alert")).textContent).toBe("VALIDATION_ERROR (to: must be E.164)");
    } finally {
      await server.close();
    }
  });
});

const live = process.env.HERALD_BASE_URL;

describe.skipIf(!live)("the README example against the live server", () => {
  it("sends an OTP, follows it to DELIVERED with its timeline, finds it in the list, shows a refusal", async () => {
    const phoneNumber = `+23480671${String(Date.now()).slice(-5)}`;
    render(
      <App baseUrl={live ?? ""} apiKey={process.env.HERALD_API_KEY} senderId={process.env.HERALD_SMS_SENDER_ID ?? ""} />,
    );
    sendTo(phoneNumber);
    expect(await screen.findByText("Status: DELIVERED", {}, { timeout: 30_000 })).toBeTruthy();
    const types = within(screen.getByRole("list", { name: "Timeline" }))
      .getAllByRole("listitem")
      .map((item) => item.textContent);
    expect(types.filter((type) => type?.startsWith("sms_"))).toEqual([
      "sms_queued",
      "sms_processing",
      "sms_sent",
      "sms_delivered",
    ]);

    fireEvent.change(screen.getByLabelText("Search"), { target: { value: phoneNumber.slice(1) } });
    await waitFor(() => expect(screen.getByText("Page 1 of 1 (1 messages)")).toBeTruthy(), { timeout: 10_000 });
    expect(
      within(screen.getByRole("list", { name: "Messages" }))
        .getAllByRole("listitem")
        .map((item) => item.textContent),
    ).toEqual([`${phoneNumber} DELIVERED`]);

    sendTo(phoneNumber.slice(1));
    expect((await screen.findByRole("alert", {}, { timeout: 10_000 })).textContent).toMatch(/^VALIDATION_ERROR \(to: /);
  });
});
