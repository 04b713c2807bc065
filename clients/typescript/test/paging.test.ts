/**
 * paginate and pages against a fake fetch (no server): one helper walks every paged list of the spec,
 * whatever its shape — `data.items` + `data.next_cursor` (history), `data[]` + top-level
 * `next_cursor` (security events, compliance cases, webhook subscriptions and deliveries), and the
 * events feed (`after`, always a cursor, `has_more`) — and stops at the end. The journeys run it
 * against the server.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import * as flowxi from "../src/index.js";

/** fake answers the n-th request with bodies[n] and records the URLs. */
function fake(bodies: unknown[]): { client: flowxi.FlowxiClient; urls: URL[] } {
  const urls: URL[] = [];
  const fetch = async (input: Request | string | URL): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    urls.push(url);
    const body = bodies[urls.length - 1];
    if (body === undefined) return Response.json({ code: "NOT_FOUND", message: "no such page" }, { status: 404 });
    return Response.json(body);
  };
  return { client: flowxi.createFlowxiClient("http://flowxi.test", { fetch: fetch as typeof globalThis.fetch }), urls };
}

describe("paginate", () => {
  it("pages every list operation of the spec", () => {
    const paged = Object.entries(flowxi.operationTable).filter(([, e]) => e.paged).map(([id]) => id).sort();
    assert.deepEqual(paged, ["listComplianceCases", "listEvents", "listSecurityEvents", "listWalletTransactions", "listWebhookDeliveries", "listWebhookSubscriptions"]);
  });

  it("follows a top-level next_cursor beside data[] to the null cursor, keeping the query", async () => {
    const ev = (id: number) => ({ id, type: "login", ip: null, user_agent: null, device_name: null, created_at: "2026-03-01T00:00:00.000000Z" });
    const { client, urls } = fake([
      { code: "SECURITY_EVENTS_OK", message: "OK", data: [ev(9), ev(8)], next_cursor: "8" },
      { code: "SECURITY_EVENTS_OK", message: "OK", data: [ev(7)], next_cursor: null },
    ]);
    const ids: number[] = [];
    for await (const e of flowxi.paginate(client, "listSecurityEvents", { params: { query: { limit: 2 } } })) ids.push(e.id);
    assert.deepEqual(ids, [9, 8, 7]);
    assert.deepEqual(urls.map((u) => [u.searchParams.get("cursor"), u.searchParams.get("limit")]), [[null, "2"], ["8", "2"]]);
  });

  it("follows data.next_cursor beside data.items (history)", async () => {
    const it = (id: number) => ({ transaction_id: id });
    const { client, urls } = fake([
      { code: "TRANSACTIONS_OK", message: "OK", data: { items: [it(3)], next_cursor: "3.3" } },
      { code: "TRANSACTIONS_OK", message: "OK", data: { items: [it(2), it(1)], next_cursor: null } },
    ]);
    const ids: number[] = [];
    for await (const t of flowxi.paginate(client, "listWalletTransactions", { params: { path: { id: 42 } } })) ids.push(t.transaction_id);
    assert.deepEqual(ids, [3, 2, 1]);
    assert.equal(urls[1]?.pathname, "/api/v1/wallets/42/transactions");
    assert.equal(urls[1]?.searchParams.get("cursor"), "3.3");
  });

  it("reads the events feed with `after` until has_more is false", async () => {
    const { client, urls } = fake([
      { code: "EVENTS_OK", message: "OK", data: [{ id: 1 }, { id: 2 }], next_cursor: "2", has_more: true },
      { code: "EVENTS_OK", message: "OK", data: [{ id: 3 }], next_cursor: "3", has_more: false },
    ]);
    const pages: number[] = [];
    for await (const page of flowxi.pages(client, "listEvents")) pages.push(page.data.length);
    assert.deepEqual(pages, [2, 1]);
    assert.deepEqual(urls.map((u) => u.searchParams.get("after")), [null, "2"]);
  });

  it("throws an ApiError with the typed envelope on an error page", async () => {
    const { client } = fake([{ code: "COMPLIANCE_CASES_OK", message: "OK", data: [{ id: 1 }], next_cursor: "1" }]);
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const c of flowxi.paginate(client, "listComplianceCases", { params: { query: { status: "submitted" } } })) seen.push(c.id);
    }, (e: unknown) => e instanceof flowxi.ApiError && e.status === 404 && e.code === "NOT_FOUND");
    assert.deepEqual(seen, [1]);
  });
});

describe("call", () => {
  it("returns every documented answer as a value, narrowed by hasCode", async () => {
    const fetch422 = flowxi.createFlowxiClient("http://flowxi.test", {
      fetch: (async () => Response.json({ code: "VALIDATION_FAILED", message: "Invalid.", errors: { email: ["bad"] } }, { status: 422 })) as typeof globalThis.fetch,
    });
    const r = await flowxi.call(fetch422, "sendRegisterEmailCode", { body: { email: "x" } });
    assert.equal(r.ok, false);
    assert.equal(r.status, 422);
    assert.ok(flowxi.hasCode(r, "VALIDATION_FAILED"));
    if (flowxi.hasCode(r, "VALIDATION_FAILED")) assert.deepEqual(r.body.errors, { email: ["bad"] });
    assert.ok(flowxi.isValidationError(r.body));
  });
});
