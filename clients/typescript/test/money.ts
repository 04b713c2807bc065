/**
 * The money part of the journey: wallets for two users, a deposit through the internal API, a
 * transfer with an Idempotency-Key (and its replay), balances, history, a refused transfer, and
 * both as an internal service reads them from the events feed; then the wallet's statement as
 * JSON, CSV and PDF, whose totals must agree.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import * as flowxi from "../src/index.js";
import type { Journey } from "./support/journey.js";
import { otpFrom, type Mailbox } from "./support/mailbox.js";

/** registerByEmail creates an active user through the e-mail code flow and returns its client. */
async function registerByEmail(j: Journey, mailbox: Mailbox, url: string): Promise<flowxi.FlowxiClient> {
  const api = flowxi.createFlowxiClient(url, { locale: j.locale });
  const email = `journey.${j.locale}.peer.${randomBytes(6).toString("hex")}@example.com`;
  const password = `Jy-${randomBytes(12).toString("base64url")}-9!`;
  const cursor = mailbox.count();
  await flowxi.sendRegisterEmailCode(api, email);
  const code = otpFrom(await mailbox.next(email, cursor));
  await flowxi.setPasswordRegisterEmailCode(api, { email, code, password, device_id: "journey-peer", device_type: "web", device_name: "Peer" });
  return api;
}

// A minimal PDF and a 1×1 PNG: documents are accepted by their content, not their names.
const PDF = new TextEncoder().encode("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

/**
 * verifyIdentity walks the KYC flow: the user saves their data, uploads the three documents and
 * submits; compliance (the internal key) starts the review and approves. Sending needs it.
 */
async function verifyIdentity(j: Journey, user: flowxi.FlowxiClient, internal: flowxi.FlowxiClient): Promise<void> {
  const before = await flowxi.getCompliance(user);
  assert.equal(before.can_send, false, "a new user cannot send before KYC");
  await flowxi.saveKycData(user, {
    first_name: "Ada", last_name: "Lovelace", birth_date: "1990-04-12", nationality: "BEN", country: "BJ",
    address: { line1: "12 rue des Palmiers", city: "Cotonou", postal_code: "01BP1234" },
  });
  await flowxi.uploadComplianceDocument(user, "identity_document", new Blob([PDF]), "id.pdf");
  await flowxi.uploadComplianceDocument(user, "proof_of_address", new Blob([PDF]), "bill.pdf");
  const selfie = await flowxi.uploadComplianceDocument(user, "selfie", new Blob([PNG]), "selfie.png");
  assert.equal(selfie.mime_type, "image/png");
  const submitted = await flowxi.submitComplianceCase(user, "kyc");
  assert.equal(submitted.status, "submitted");
  const me = await flowxi.getMe(user);
  let cursor: string | undefined;
  let id: number | undefined;
  do {
    const page = await flowxi.listComplianceCases(internal, "submitted", cursor);
    cursor = page.next_cursor ?? undefined;
    id = page.data.find((c) => c.user_id === me.id)?.id ?? id;
  } while (cursor);
  assert.ok(id, "the submitted case is in the review queue");
  await flowxi.decideComplianceCase(internal, id, { action: "start_review" });
  const approved = await flowxi.decideComplianceCase(internal, id, { action: "approve" });
  assert.equal(approved.status, "approved");
  assert.equal((await flowxi.getCompliance(user)).can_send, true);
  void j;
}

/** humanMoney is how the PDF statement prints an EUR amount: fr "1 234,56 €", en "€1,234.56". */
function humanMoney(locale: flowxi.Locale, minor: number): string {
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, locale === "fr" ? " " : ",");
  const cents = String(abs % 100).padStart(2, "0");
  return locale === "fr" ? `${sign}${whole},${cents} €` : `${sign}€${whole}.${cents}`;
}

/** pdfText extracts a PDF's text with pdftotext (poppler-utils; scripts/journey.sh installs it). */
function pdfText(pdf: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), "flowxi-statement-"));
  try {
    const file = join(dir, "statement.pdf");
    writeFileSync(file, pdf);
    return execFileSync("pdftotext", ["-layout", "-enc", "UTF-8", file, "-"], { encoding: "utf8" }).replace(/[\u00a0\s]+/g, " ");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * statementSteps downloads the statement of the money step's wallet as JSON, CSV and PDF and
 * checks that their totals agree: the deposit of 1 000.00 and the transfer of 25.00 out.
 */
function statementSteps(j: Journey): void {
  j.step("download a statement as JSON, CSV and PDF and check their totals", ["session", "money"], [], async () => {
    const wallet = (await flowxi.listWallets(j.api)).find((w) => w.currency === "EUR");
    assert.ok(wallet, "the money step's wallet");
    const period = { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) };
    const st = await flowxi.statement(j.api, wallet.id, period);
    assert.deepEqual(st.movements.map((m) => m.amount), [100_000, -2_500], "the deposit, then the transfer (the refused one moved nothing)");
    assert.deepEqual([st.opening_balance, st.total_in, st.total_out, st.closing_balance, st.count], [0, 100_000, 2_500, 97_500, 2]);
    assert.equal(st.closing_balance, wallet.balance);
    const me = await flowxi.getMe(j.api);
    assert.equal(st.holder, `${me.first_name} ${me.last_name}`, "made out to the profile's name (accented in the French run)");

    const rows = flowxi.parseCsv(await flowxi.statementCsv(j.api, wallet.id, period));
    const [header, ...lines] = rows;
    assert.deepEqual(header, ["booked_at", "transaction_id", "kind", "counterparty", "note", "reverses_id", "amount", "balance_after", "currency"]);
    const amount = header.indexOf("amount");
    const balance = header.indexOf("balance_after");
    const total = lines.reduce((sum, r) => sum + flowxi.minorUnits(r[amount] ?? "", st.exponent), 0);
    assert.equal(total, st.closing_balance - st.opening_balance, "the CSV's amounts add up to the JSON's movement");
    assert.equal(flowxi.minorUnits(lines.at(-1)?.[balance] ?? "", st.exponent), st.closing_balance);
    assert.deepEqual(lines.map((r) => Number(r[1])), st.movements.map((m) => m.transaction_id));

    const pdf = await flowxi.statementPdf(j.api, wallet.id, period);
    assert.equal(new TextDecoder().decode(pdf.slice(0, 5)), "%PDF-");
    const text = pdfText(pdf);
    const [opening, closing] = j.locale === "fr" ? ["Solde d'ouverture", "Solde de clôture"] : ["Opening balance", "Closing balance"];
    for (const want of [`${opening} ${humanMoney(j.locale, st.opening_balance)}`, `${closing} ${humanMoney(j.locale, st.closing_balance)}`,
      humanMoney(j.locale, 100_000), humanMoney(j.locale, -2_500), groupBy4(st.reference), st.holder]) {
      assert.ok(text.includes(want), `the PDF (${j.locale}) shows ${want}: ${text}`);
    }
  });
}

function groupBy4(s: string): string {
  return s.replace(/(.{4})(?=.)/g, "$1 ");
}

/** What the money step leaves for the later steps: the two wallets and the peer's username. */
interface Moved {
  mine: flowxi.Schema<"Wallet">;
  peer: string;
}

/** moneySteps registers the money steps of one journey. */
export function moneySteps(j: Journey, mailbox: Mailbox, url: () => string): void {
  let moved: Moved | undefined;
  j.step("deposit through the internal API and transfer to another user with an Idempotency-Key", ["session"], ["money"], async () => {
    const internalKey = process.env.JOURNEY_INTERNAL_KEY;
    assert.ok(internalKey, "JOURNEY_INTERNAL_KEY is not set: scripts/journey.sh creates it with `flowxi internal-key create`");
    const internal = flowxi.createFlowxiClient(url(), { locale: j.locale, headers: { "X-Internal-Key": internalKey } });
    const peer = await registerByEmail(j, mailbox, url());

    const mine = await flowxi.createWallet(j.api, "EUR");
    const theirs = await flowxi.createWallet(peer, "EUR");
    assert.deepEqual([mine.balance, mine.exponent, theirs.balance], [0, 2, 0]);

    // A deposit of 1 000.00 EUR, sent twice with the same key: posted once, replayed once.
    const depositKey = randomUUID();
    const deposit = { wallet_id: mine.id, amount: 100_000, currency: "EUR", external_reference: `JOURNEY-${depositKey}` };
    const first = await flowxi.createDeposit(internal, depositKey, deposit);
    assert.equal(first.code, "DEPOSIT_POSTED");
    assert.equal(first.transaction.status, "posted");
    assert.equal(first.replayed, false);
    j.localized(first);
    const again = await flowxi.createDeposit(internal, depositKey, deposit);
    assert.equal(again.replayed, true);
    assert.equal(again.transaction.id, first.transaction.id);

    // Sending needs an approved KYC (receiving does not: the peer never verifies).
    await verifyIdentity(j, j.api, internal);

    // 25.00 EUR to the peer, also sent twice with one key (a client retrying after a timeout).
    const transferKey = randomUUID();
    const transfer = { from_wallet_id: mine.id, to_wallet_id: theirs.id, amount: 2_500, currency: "EUR", note: `journey ${j.locale}` };
    const sent = await flowxi.createTransfer(j.api, transferKey, transfer);
    assert.equal(sent.code, "TRANSFER_COMPLETED");
    assert.equal(sent.transaction.status, "posted");
    j.localized(sent);
    const retried = await flowxi.createTransfer(j.api, transferKey, transfer);
    assert.equal(retried.replayed, true);
    assert.equal(retried.transaction.id, sent.transaction.id);

    const balance = async (api: flowxi.FlowxiClient) => (await flowxi.listWallets(api)).find((w) => w.currency === "EUR");
    assert.deepEqual(
      [(await balance(j.api))?.balance, (await balance(j.api))?.available_balance, (await balance(peer))?.balance],
      [97_500, 97_500, 2_500],
      "each movement counted once",
    );
    const history = await flowxi.walletHistory(j.api, mine.id);
    assert.equal(history[0]?.transaction_id, sent.transaction.id);
    assert.equal(history[0]?.amount, -2_500);
    assert.equal(history[0]?.balance_after, 97_500);

    // More than the balance: refused, recorded as failed, nothing moves.
    const { error, response } = await j.api.POST("/api/v1/transfers", {
      params: { header: { "Idempotency-Key": randomUUID() } },
      body: { ...transfer, amount: 200_000 },
    });
    assert.equal(response.status, 409);
    assert.equal(error?.code, "INSUFFICIENT_FUNDS");
    if (error) j.localized(error);
    assert.equal((await balance(j.api))?.balance, 97_500);
    assert.equal((await balance(peer))?.balance, 2_500);

    // An internal service reading the events feed sees the transfer once (its replay wrote
    // nothing) and the refusal as transfer.failed.
    const events = await readFeedUntil(internal, (evs) =>
      evs.some((e) => e.type === "transfer.failed" && e.data.from_wallet_id === mine.id),
    );
    const completed = events.filter((e) => e.type === "transfer.completed" && e.data.transaction_id === sent.transaction.id);
    assert.equal(completed.length, 1, "one transfer.completed for the transfer and its replay");
    assert.equal(completed[0]?.subject.id, String(sent.transaction.id));
    moved = { mine, peer: (await flowxi.getMe(peer)).username };
  });

  j.step("filter the history page by page and read balances at past instants", ["money"], [], async () => {
    assert.ok(moved, "the money step left its wallets");
    const { mine, peer } = moved;
    // The refusal, the transfer, the deposit: newest first, one page each, following next_cursor.
    const all = await flowxi.walletHistory(j.api, mine.id, { limit: 1 });
    assert.deepEqual(all.map((i) => [i.kind, i.status, i.amount]), [["transfer", "failed", -200_000], ["transfer", "posted", -2_500], ["deposit", "posted", 100_000]]);
    assert.deepEqual(all.map((i) => i.balance_after), [null, 97_500, 100_000], "each balance follows from the one below it");
    const [refused, sent, deposit] = all;
    assert.ok(refused && sent?.finalized_at && deposit?.finalized_at);
    const ids = async (filter: flowxi.HistoryFilter) => (await flowxi.walletHistory(j.api, mine.id, filter)).map((i) => i.transaction_id);
    assert.deepEqual(await ids({ direction: "out" }), [refused.transaction_id, sent.transaction_id]);
    assert.deepEqual(await ids({ kind: "deposit" }), [deposit.transaction_id]);
    assert.deepEqual(await ids({ status: "failed", limit: 1 }), [refused.transaction_id]);
    assert.deepEqual(await ids({ counterparty: peer }), [sent.transaction_id], "a refusal never names the recipient");
    assert.deepEqual(await ids({ from: sent.finalized_at, min_amount: 2_500, max_amount: 2_500 }), [sent.transaction_id]);
    assert.deepEqual(await ids({ to: new Date(sent.finalized_at) }), [deposit.transaction_id], "to is excluded");
    // Balances at the instants the history shows, before the wallet was opened, and now.
    const at = (t: flowxi.Instant) => flowxi.walletBalanceAt(j.api, mine.id, t);
    assert.deepEqual([(await at(deposit.finalized_at)).balance, (await at(sent.finalized_at)).balance], [100_000, 97_500]);
    const before = await at(new Date(Date.parse(mine.created_at) - 60_000));
    assert.deepEqual([before.wallet_existed, before.balance, before.available_balance], [false, 0, 0]);
    const now = await at(new Date());
    assert.deepEqual([now.wallet_existed, now.balance, now.available_balance, now.pending], [true, 97_500, 97_500, 0]);
    // An instant in the future is refused, in the journey's language, naming `at`.
    const future = await j.api.GET("/api/v1/wallets/{id}/balance", {
      params: { path: { id: mine.id }, query: { at: new Date(Date.now() + 3_600_000).toISOString() } },
    });
    assert.equal(future.response.status, 422);
    assert.equal(future.error?.code, "VALIDATION_FAILED");
    assert.ok(future.error && "errors" in future.error && future.error.errors.at, "the error names at");
    if (future.error) j.localized(future.error);
  });
  statementSteps(j);
}

/**
 * readFeedUntil reads the whole transfer feed page by page, as an internal service does, until
 * `done` holds for what it read (the sequencer places a committed event within ~100 ms).
 */
async function readFeedUntil(
  internal: flowxi.FlowxiClient,
  done: (events: flowxi.Schema<"Event">[]) => boolean,
): Promise<flowxi.Schema<"Event">[]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const events: flowxi.Schema<"Event">[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await flowxi.listEvents(internal, after, ["transfer.completed", "transfer.failed"], 1000);
      events.push(...page.data);
      after = page.next_cursor;
      if (!page.has_more) break;
    }
    if (done(events)) return events;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the events feed never showed the transfers");
}
