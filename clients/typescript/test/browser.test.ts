/**
 * The journey in a real browser: headless Chromium (Debian's package, driven by playwright-core) on
 * a front end's page served from another origin than the API, the server started with CORS_ORIGINS
 * set to that origin, and the built package (dist/) loaded as ES modules in the page. Register by
 * e-mail code, log in, enable 2FA and log in through the challenge, read and update the profile,
 * upload a photo (a real File drawn on a canvas), KYC with its PUTs and document uploads, a transfer
 * with an Idempotency-Key (and its replay), history paged to the end. Every step fails on a console
 * error, a failed request (a refused preflight shows as both) or an answer that openapi.yaml does not
 * describe. Then the reference page: /docs rendered in the same browser shows every operation of the
 * spec, without a console error; its screenshot is kept under artifacts/.
 *
 * scripts/journey.sh runs it after the Node journey; without Chromium (and no way to install it) it
 * is skipped with the reason.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import * as OTPAuth from "otpauth";
import type { Page } from "playwright-core";

import * as flowxi from "../src/index.js";
import { Browser, CHROMIUM, servePage } from "./support/browser.js";
import { Contract } from "./support/contract.js";
import { Mailbox, otpFrom } from "./support/mailbox.js";
import { freePort, startServer, type RunningServer } from "./support/server.js";

type F = typeof flowxi;
/** In the page: the package and the API origin, as the page's module script left them. */
type Win = { flowxi: F; API: string; api?: flowxi.FlowxiClient };

const client = fileURLToPath(new URL("../../", import.meta.url));
const root = process.env.FLOWXI_ROOT ?? join(client, "../..");
const artifacts = join(client, "artifacts");
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (scripts/services.sh chromium installs it, as root)`;

describe("browser journey (Chromium, another origin)", { skip }, () => {
  const mailbox = new Mailbox();
  const contract = new Contract(root);
  let server: RunningServer;
  let front: { url: string; close(): Promise<void> };
  let browser: Browser;
  let page: Page;
  const email = `browser.${randomBytes(6).toString("hex")}@example.com`;
  const password = `Br-${randomBytes(12).toString("base64url")}-9!`;
  let totp: OTPAuth.TOTP;
  let step = 0;
  let walletId = 0;

  before(async () => {
    const smtp = await mailbox.start();
    // The page's origin must be known before the server starts: listen first, then point it at the API.
    const apiPort = await freePort();
    front = await servePage(client, `http://127.0.0.1:${apiPort}`);
    server = await startServer(smtp, { CORS_ORIGINS: front.url }, apiPort);
    assert.notEqual(new URL(front.url).origin, new URL(server.url).origin, "the page and the API are on different origins");
    browser = await Browser.launch(server.url, contract);
    page = await browser.open(front.url);
    await page.waitForSelector("body[data-ready='1']");
    await page.evaluate(() => {
      const w = window as unknown as Win;
      w.api = w.flowxi.createFlowxiClient(w.API, { locale: "en" });
    });
  });

  after(async () => {
    await browser?.close();
    await front?.close();
    await server?.stop();
    await mailbox.stop();
  });

  /** clean asserts that the browser saw nothing wrong since the last step. */
  async function clean(): Promise<void> {
    assert.deepEqual(await browser.problems(), [], "console errors, failed requests or answers outside the spec");
  }

  /** startTotp readies codes for steps T-1, T, T+1 (each accepted once), waiting for a fresh window if needed. */
  async function startTotp(secret: string): Promise<void> {
    totp = new OTPAuth.TOTP({ issuer: "Flowxi", label: email, algorithm: "SHA1", digits: 6, period: 30, secret: OTPAuth.Secret.fromBase32(secret) });
    const left = 30_000 - (Date.now() % 30_000);
    if (left < 15_000) await new Promise((r) => setTimeout(r, left + 200));
    step = Math.floor(Date.now() / 30_000) - 1;
  }
  const nextCode = (): string => totp.generate({ timestamp: step++ * 30_000 });

  it("registers by e-mail code", { timeout: 120_000 }, async () => {
    const cursor = mailbox.count();
    assert.equal(await page.evaluate((e) => { const w = window as unknown as Win; return w.flowxi.sendRegisterEmailCode(w.api!, e); }, email), "OTP_SENT");
    const code = otpFrom(await mailbox.next(email, cursor));
    const issued = await page.evaluate(async ([e, c, p]) => {
      const w = window as unknown as Win;
      const r = await w.flowxi.setPasswordRegisterEmailCode(w.api!, { email: e!, code: c!, password: p!, device_id: "browser-reg", device_type: "web", device_name: "Chromium" });
      return r.code;
    }, [email, code, password]);
    assert.equal(issued, "TOKEN_ISSUED");
    await clean();
  });

  it("logs in, enables 2FA, logs in through the challenge and steps up", { timeout: 120_000 }, async () => {
    const login = () => page.evaluate(async ([e, p]) => {
      const w = window as unknown as Win;
      return w.flowxi.login(w.api!, { email: e!, password: p!, device_id: "browser-web", device_type: "web", device_name: "Chromium" });
    }, [email, password]);
    assert.equal((await login()).kind, "token");
    const status = await page.evaluate(() => { const w = window as unknown as Win; return w.flowxi.getTwofaStatus(w.api!); });
    assert.ok(status.secret);
    await startTotp(status.secret);
    const recovery = await page.evaluate((c) => { const w = window as unknown as Win; return w.flowxi.enableTwofa(w.api!, c); }, nextCode());
    assert.equal(recovery.length, 10);
    const outcome = await login();
    assert.equal(outcome.kind, "challenge");
    if (outcome.kind !== "challenge") return;
    // The typed call: a misspelled code would not compile; the reply is narrowed by its code.
    const verified = await page.evaluate(async ([id, c]) => {
      const w = window as unknown as Win;
      const r = await w.flowxi.call(w.api!, "verifyLogin2fa", { body: { challenge_id: id!, code: c! } });
      if (!w.flowxi.hasCode(r, "LOGIN_SUCCESS")) return r.code;
      w.api!.setToken(r.body.data.access_token);
      return r.code;
    }, [outcome.challengeId, nextCode()]);
    assert.equal(verified, "LOGIN_SUCCESS");
    assert.equal(await page.evaluate((c) => { const w = window as unknown as Win; return w.flowxi.verifyTwofa(w.api!, c); }, nextCode()), true);
    await clean();
  });

  it("reads and updates the profile and uploads a photo (a real File)", { timeout: 120_000 }, async () => {
    const photo = await page.evaluate(async () => {
      const w = window as unknown as Win;
      await w.flowxi.updateMe(w.api!, { first_name: "Ada", last_name: "Lovelace", birth_date: "1990-04-12", country: "BJ", nationality: "BEN" });
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 64;
      const g = canvas.getContext("2d")!;
      g.fillStyle = "#1d6fb8";
      g.fillRect(0, 0, 64, 64);
      const blob = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), "image/png"));
      const file = new File([blob], "me.png", { type: "image/png" });
      const r = await w.flowxi.call(w.api!, "uploadMePhoto", {
        body: { photo: "me.png" },
        bodySerializer: () => {
          const form = new FormData();
          form.append("photo", file);
          return form;
        },
      });
      const me = await w.flowxi.getMe(w.api!);
      return { code: r.code, first: me.first_name, url: me.photo_url };
    });
    assert.equal(photo.code, "ME_PHOTO_UPDATED");
    assert.equal(photo.first, "Ada");
    assert.ok(photo.url, "the profile has a photo URL");
    await clean();
  });

  it("walks KYC: account type and data (PUTs), three documents, submit", { timeout: 120_000 }, async () => {
    const submitted = await page.evaluate(async () => {
      const w = window as unknown as Win;
      const f = w.flowxi;
      const put = await f.call(w.api!, "setComplianceAccountType", { body: { account_type: "personal" } });
      if (!put.ok) throw new Error(`account type: ${put.status} ${put.code}`);
      await f.saveKycData(w.api!, {
        first_name: "Ada", last_name: "Lovelace", birth_date: "1990-04-12", nationality: "BEN", country: "BJ",
        address: { line1: "12 rue des Palmiers", city: "Cotonou", postal_code: "01BP1234" },
      });
      const pdf = new File(["%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"], "id.pdf", { type: "application/pdf" });
      await f.uploadComplianceDocument(w.api!, "identity_document", pdf, pdf.name);
      await f.uploadComplianceDocument(w.api!, "proof_of_address", pdf, "bill.pdf");
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 32;
      const selfie = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), "image/png"));
      await f.uploadComplianceDocument(w.api!, "selfie", new File([selfie], "selfie.png", { type: "image/png" }), "selfie.png");
      return (await f.submitComplianceCase(w.api!, "kyc")).status;
    });
    assert.equal(submitted, "submitted");
    await clean(); // waits for every answer in flight to be checked
    // The browser sent the PUTs across origins (their preflights passed) and their answers were checked.
    assert.ok(browser.answers.filter((a) => a.startsWith("PUT ") && a.endsWith(" 200")).length >= 2, `PUT answers: ${browser.answers.join(", ")}`);
    // The review is a back-office step: internal keys never reach a browser (CORS refuses X-Internal-Key).
    const internal = internalClient();
    const me = await page.evaluate(() => { const w = window as unknown as Win; return w.flowxi.getMe(w.api!); });
    let id: number | undefined;
    for await (const c of flowxi.paginate(internal, "listComplianceCases", { params: { query: { status: "submitted", limit: 100 } } })) {
      if (c.user_id === me.id) id = c.id;
    }
    assert.ok(id, "the case is in the review queue");
    await flowxi.decideComplianceCase(internal, id, { action: "start_review" });
    assert.equal((await flowxi.decideComplianceCase(internal, id, { action: "approve" })).status, "approved");
    await clean();
  });

  it("transfers with an Idempotency-Key, and the retry is a replay", { timeout: 120_000 }, async () => {
    const peer = await registerPeer();
    const theirs = await flowxi.createWallet(peer, "EUR");
    walletId = await page.evaluate(async () => { const w = window as unknown as Win; return (await w.flowxi.createWallet(w.api!, "EUR")).id; });
    const internal = internalClient();
    for (const amount of [40_000, 30_000, 30_000]) {
      const key = randomUUID();
      await flowxi.createDeposit(internal, key, { wallet_id: walletId, amount, currency: "EUR", external_reference: `BROWSER-${key}` });
    }
    const sent = await page.evaluate(async ([from, to, key]) => {
      const w = window as unknown as Win;
      const body = { from_wallet_id: Number(from), to_wallet_id: Number(to), amount: 2_500, currency: "EUR", note: "browser journey" };
      const first = await w.flowxi.createTransfer(w.api!, key!, body);
      const again = await w.flowxi.createTransfer(w.api!, key!, body);
      return { code: first.code, id: first.transaction.id, replayed: [first.replayed, again.replayed], againId: again.transaction.id };
    }, [String(walletId), String(theirs.id), randomUUID()]);
    assert.equal(sent.code, "TRANSFER_COMPLETED");
    assert.deepEqual(sent.replayed, [false, true]);
    assert.equal(sent.againId, sent.id);
    await clean();
  });

  it("pages the history and the security log to the end", { timeout: 120_000 }, async () => {
    const paged = await page.evaluate(async (id) => {
      const w = window as unknown as Win;
      const f = w.flowxi;
      const ids: number[] = [];
      for await (const item of f.paginate(w.api!, "listWalletTransactions", { params: { path: { id }, query: { limit: 2 } } })) ids.push(item.transaction_id);
      const first = await f.walletHistoryPage(w.api!, id, { limit: 2 });
      let events = 0;
      for await (const _ of f.paginate(w.api!, "listSecurityEvents", { params: { query: { limit: 2 } } })) events++;
      return { ids, next: first.next_cursor, events };
    }, walletId);
    assert.equal(paged.ids.length, 4, "three deposits and one transfer, two per page");
    assert.equal(new Set(paged.ids).size, 4, "no item twice");
    assert.ok(paged.next, "the first page has a next_cursor");
    assert.ok(paged.events >= 3, `the security log pages too (${paged.events})`);
    await clean();
  });

  it("renders /docs with every operation of the spec, without a console error", { timeout: 180_000 }, async () => {
    const docs = await browser.open(`${server.url}/docs`);
    const menu = docs.locator('[data-component-name="Menu/MenuItem"]');
    // Rendered: the side menu lists the tags (Redoc 3 opens a tag's operations when it is clicked).
    await menu.first().waitFor({ timeout: 120_000 });
    const ops = contract.operations();
    const missing: string[] = [];
    for (const tag of [...new Set(ops.map((o) => o.tag))]) {
      await menu.getByText(tag, { exact: true }).first().click();
      await docs.waitForTimeout(200);
      const text = await docs.evaluate(() => document.body.innerText);
      for (const o of ops.filter((x) => x.tag === tag)) if (!text.includes(o.summary)) missing.push(`${o.id} (${tag}: ${o.summary})`);
    }
    assert.deepEqual(missing, [], "operations missing from the rendered reference");
    mkdirSync(artifacts, { recursive: true });
    await docs.screenshot({ path: join(artifacts, "docs.png") });
    await docs.close();
    await clean();
  });

  function internalClient(): flowxi.FlowxiClient {
    const key = process.env.JOURNEY_INTERNAL_KEY;
    assert.ok(key, "JOURNEY_INTERNAL_KEY is not set (scripts/journey.sh creates it)");
    return flowxi.createFlowxiClient(server.url, { locale: "en", headers: { "X-Internal-Key": key } });
  }

  async function registerPeer(): Promise<flowxi.FlowxiClient> {
    const api = flowxi.createFlowxiClient(server.url, { locale: "en" });
    const peer = `browser.peer.${randomBytes(6).toString("hex")}@example.com`;
    const cursor = mailbox.count();
    await flowxi.sendRegisterEmailCode(api, peer);
    const code = otpFrom(await mailbox.next(peer, cursor));
    await flowxi.setPasswordRegisterEmailCode(api, { email: peer, code, password, device_id: "browser-peer", device_type: "web", device_name: "Peer" });
    return api;
  }
});
