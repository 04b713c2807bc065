/**
 * The history and balance-at helpers, against a fake fetch (no server): paging follows
 * `next_cursor` to the last page with the same filters on every request, instants are sent as
 * RFC 3339, and errors surface as ApiError. The journey (money.ts) runs them against the server.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import * as flowxi from "../src/index.js";

type Item = flowxi.Schema<"HistoryItem">;

function item(id: number, balance: number): Item {
  return {
    transaction_id: id, kind: "transfer", status: "posted", amount: 100, currency: "EUR", balance_after: balance,
    counterparty: null, note: null, failure_code: null, created_at: "2026-03-01T00:00:00.000000Z", finalized_at: "2026-03-01T00:00:00.000000Z",
  };
}

/** fake answers each request with the next of `pages` (as history pages) and records the URLs asked. */
function fake(pages: { items: Item[]; next_cursor: string | null }[]): { client: flowxi.FlowxiClient; urls: URL[] } {
  const urls: URL[] = [];
  const fetch = async (input: Request | string | URL): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    urls.push(url);
    const page = pages[urls.length - 1];
    if (!page) return new Response(JSON.stringify({ code: "NOT_FOUND", message: "no more pages" }), { status: 404 });
    return Response.json({ code: "TRANSACTIONS_OK", message: "OK", data: page });
  };
  return { client: flowxi.createFlowxiClient("http://flowxi.test", { fetch: fetch as typeof globalThis.fetch }), urls };
}

describe("wallet history helpers", () => {
  it("walletHistory follows next_cursor to the last page, with the filters on every page", async () => {
    const { client, urls } = fake([
      { items: [item(9, 900), item(8, 800)], next_cursor: "16.8" },
      { items: [item(7, 700), item(6, 600)], next_cursor: "12.6" },
      { items: [item(5, 500)], next_cursor: null },
    ]);
    const from = new Date(Date.UTC(2026, 2, 1));
    const items = await flowxi.walletHistory(client, 42, { from, to: "2026-04-01T00:00:00Z", direction: "in", counterparty: "fx00000018", limit: 2 });
    assert.deepEqual(items.map((i) => i.transaction_id), [9, 8, 7, 6, 5]);
    assert.deepEqual(urls.map((u) => u.searchParams.get("cursor")), [null, "16.8", "12.6"]);
    for (const u of urls) {
      assert.equal(u.pathname, "/api/v1/wallets/42/transactions");
      assert.equal(u.searchParams.get("from"), "2026-03-01T00:00:00.000Z");
      assert.equal(u.searchParams.get("to"), "2026-04-01T00:00:00Z");
      assert.equal(u.searchParams.get("direction"), "in");
      assert.equal(u.searchParams.get("counterparty"), "fx00000018");
      assert.equal(u.searchParams.get("limit"), "2");
      assert.equal(u.searchParams.has("kind"), false, "filters not given are not sent");
    }
  });

  it("walletHistoryPages reads a page only when asked for it", async () => {
    const { client, urls } = fake([
      { items: [item(2, 200)], next_cursor: "2.2" },
      { items: [item(1, 100)], next_cursor: null },
    ]);
    for await (const page of flowxi.walletHistoryPages(client, 7, { kind: "deposit" })) {
      assert.deepEqual(page.items.map((i) => i.transaction_id), [2]);
      assert.equal(page.nextCursor, "2.2");
      break;
    }
    assert.equal(urls.length, 1);
    assert.equal(urls[0]?.searchParams.get("kind"), "deposit");
  });

  it("walletHistoryPage returns the cursor, and an empty history is one request", async () => {
    const { client, urls } = fake([{ items: [], next_cursor: null }]);
    assert.deepEqual(await flowxi.walletHistoryPage(client, 1), { items: [], nextCursor: undefined, next_cursor: null });
    assert.deepEqual(await flowxi.walletHistory(fake([{ items: [], next_cursor: null }]).client, 1), []);
    assert.equal(urls.length, 1);
  });
});

describe("walletBalanceAt", () => {
  it("sends the instant as RFC 3339 and returns the balances", async () => {
    const asked: URL[] = [];
    const data: flowxi.Schema<"BalanceAt"> = {
      wallet_id: 42, currency: "EUR", exponent: 2, at: "2026-03-01T00:00:00.000000Z", balance: 1000, available_balance: 800, pending: 200, wallet_existed: true,
    };
    const fetch = async (input: Request): Promise<Response> => {
      asked.push(new URL(input.url));
      return Response.json({ code: "BALANCE_AT_OK", message: "OK", data });
    };
    const client = flowxi.createFlowxiClient("http://flowxi.test", { fetch: fetch as typeof globalThis.fetch });
    assert.deepEqual(await flowxi.walletBalanceAt(client, 42, new Date(Date.UTC(2026, 2, 1))), data);
    assert.equal(asked[0]?.pathname, "/api/v1/wallets/42/balance");
    assert.equal(asked[0]?.searchParams.get("at"), "2026-03-01T00:00:00.000Z");
  });

  it("throws an ApiError naming the code on a refusal", async () => {
    const fetch = async (): Promise<Response> =>
      Response.json({ code: "VALIDATION_FAILED", message: "Some fields are invalid.", errors: { at: ["The at may not be in the future."] } }, { status: 422 });
    const client = flowxi.createFlowxiClient("http://flowxi.test", { fetch: fetch as typeof globalThis.fetch });
    await assert.rejects(flowxi.walletBalanceAt(client, 42, "2999-01-01T00:00:00Z"), (e: unknown) => {
      assert.ok(e instanceof flowxi.ApiError);
      assert.equal(e.status, 422);
      assert.equal(e.code, "VALIDATION_FAILED");
      assert.deepEqual(e.body?.errors, { at: ["The at may not be in the future."] });
      return true;
    });
  });
});
