/**
 * Typed client for the Flowxi API.
 *
 * The types in `schema.d.ts` are generated from `openapi.yaml` by openapi-typescript (`npm run gen`,
 * also run by `make generate`); the calls go through openapi-fetch, so every path, parameter, body
 * and response is checked by the TypeScript compiler. This file is hand-written: it adds the
 * locale/bearer middleware and one small typed helper per tag of the spec. The helpers read
 * response fields by name on purpose: a contract change that breaks callers fails `tsc --noEmit`
 * (run by `make lint`) instead of failing in a front end.
 */
import { type FlowxiClient } from "./client.js";
import { ApiError, ok, type ApiErrorBody, type Code } from "./errors.js";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** A schema of the spec, by name: `Schema<"Profile">`. */
export type Schema<N extends keyof components["schemas"]> = components["schemas"][N];

/** Languages the API speaks (`X-App-Locale`). */
export type Locale = Schema<"Locale">;

export { createFlowxiClient, type FlowxiClient, type FlowxiClientOptions } from "./client.js";
export { ApiError, isValidationError, ok, type ApiErrorBody, type Code, type ErrorEnvelope, type ValidationEnvelope } from "./errors.js";
export * from "./calls.js";
export { codesByStatus, operationTable, specVersion, type OperationId, type PagedOperationId } from "./operations.js";

/** A device as sent at login and registration (tokens are bound to it). */
export interface Device {
  device_id: string;
  device_type: string;
  device_name: string;
}

// ---- Health ---------------------------------------------------------------------------------

/** health returns the status of the API and its dependencies (200 or 503, both documented). */
export async function health(c: FlowxiClient): Promise<Schema<"HealthResponse">> {
  const { data, error, response } = await c.GET("/api/v1/health");
  if (data) return data;
  // 503 is a documented HealthResponse, not an error envelope.
  if (response.status === 503 && error && "checks" in error) return error;
  throw new ApiError(response.status, error as ApiErrorBody | undefined, response.url);
}

// ---- Registration ---------------------------------------------------------------------------

/** sendRegisterEmailCode e-mails a 6-digit code to a new address. */
export async function sendRegisterEmailCode(c: FlowxiClient, email: string): Promise<Code | string> {
  return ok(await c.POST("/api/v1/register-email-code/send", { body: { email } })).code;
}

/** verifyRegisterEmailCode checks the e-mailed code without consuming it. */
export async function verifyRegisterEmailCode(c: FlowxiClient, email: string, code: string): Promise<boolean> {
  return ok(await c.POST("/api/v1/register-email-code/verify", { body: { email, code } })).valid;
}

/** setPasswordRegisterEmailCode activates the account and stores the issued token in the client. */
export async function setPasswordRegisterEmailCode(
  c: FlowxiClient,
  input: { email: string; code: string; password: string } & Partial<Device>,
): Promise<Schema<"TokenIssuedResponse">> {
  const body = ok(
    await c.POST("/api/v1/register-email-code/set-password", {
      body: { ...input, password_confirmation: input.password },
    }),
  );
  c.setToken(body.access_token);
  return body;
}

// ---- Auth -----------------------------------------------------------------------------------

/** The outcome of a password login: a token (stored in the client) or a 2FA challenge. */
export type LoginOutcome =
  | { kind: "token"; userId: number; token: string }
  | { kind: "challenge"; challengeId: string; expiresIn: number };

/** login signs in with email + password on a device; a token is stored in the client. */
export async function login(
  c: FlowxiClient,
  input: { email: string; password: string } & Device,
): Promise<LoginOutcome> {
  const { data } = ok(await c.POST("/api/v1/auth/login", { body: input }));
  if (data.mfa_required) {
    return { kind: "challenge", challengeId: data.challenge_id, expiresIn: data.expires_in };
  }
  c.setToken(data.access_token);
  return { kind: "token", userId: data.user_id, token: data.access_token };
}

/** logout revokes the current token and forgets it. */
export async function logout(c: FlowxiClient): Promise<void> {
  ok(await c.POST("/api/v1/auth/logout"));
  c.setToken(undefined);
}

// ---- Two-factor authentication --------------------------------------------------------------

/** verifyLogin2fa answers a login challenge with a TOTP or recovery code; the token is stored. */
export async function verifyLogin2fa(c: FlowxiClient, challengeId: string, code: string): Promise<number> {
  const { data } = ok(await c.POST("/api/v1/auth/2fa/verify-login", { body: { challenge_id: challengeId, code } }));
  c.setToken(data.access_token);
  return data.user_id;
}

/** getTwofaStatus returns whether 2FA is on and, while it is off, the pending enrollment secret. */
export async function getTwofaStatus(c: FlowxiClient): Promise<Schema<"TwofaStatusResponse">> {
  return ok(await c.GET("/api/v1/auth/2fa/status"));
}

/** enableTwofa commits the pending secret and returns the one-time recovery codes. */
export async function enableTwofa(c: FlowxiClient, code: string): Promise<string[]> {
  return ok(await c.POST("/api/v1/auth/2fa/enable", { body: { code } })).recovery_codes;
}

/** verifyTwofa opens a step-up window for the calling token. */
export async function verifyTwofa(c: FlowxiClient, code: string): Promise<boolean> {
  return ok(await c.POST("/api/v1/auth/2fa/verify", { body: { code } })).success;
}

// ---- Devices --------------------------------------------------------------------------------

/** listDevices returns the user's active device-bound sessions, newest use first. */
export async function listDevices(c: FlowxiClient): Promise<Schema<"Device">[]> {
  return ok(await c.GET("/api/v1/auth/devices")).data;
}

// ---- Me -------------------------------------------------------------------------------------

/** getMe returns the authenticated user's profile. */
export async function getMe(c: FlowxiClient): Promise<Schema<"Profile">> {
  return ok(await c.GET("/api/v1/me")).data;
}

/** updateMe changes profile fields (omitted = unchanged, null = cleared). */
export async function updateMe(c: FlowxiClient, patch: Schema<"UpdateMeRequest">): Promise<Schema<"ProfileUpdate">> {
  return ok(await c.PATCH("/api/v1/me", { body: patch })).data;
}

// ---- Docs -----------------------------------------------------------------------------------

/** getOpenapiSpec returns the contract the server was built against, as YAML text. */
export async function getOpenapiSpec(c: FlowxiClient): Promise<string> {
  return ok(await c.GET("/api/v1/openapi.yaml", { parseAs: "text" }));
}

// ---- Wallets --------------------------------------------------------------------------------

/** listWallets returns the caller's wallets (amounts in minor units). */
export async function listWallets(c: FlowxiClient): Promise<Schema<"Wallet">[]> {
  return ok(await c.GET("/api/v1/wallets")).data;
}

/** createWallet opens the caller's wallet in `currency`. */
export async function createWallet(c: FlowxiClient, currency: Schema<"CurrencyCode">): Promise<Schema<"Wallet">> {
  return ok(await c.POST("/api/v1/wallets", { body: { currency } })).data;
}

// ---- Wallet history and balances at an instant -----------------------------------------------

/** An instant for the API: a `Date`, or an RFC 3339 string sent as is. */
export type Instant = Date | string;

/**
 * The filters of a wallet's history (all optional, combined): `from` / `to` select the items whose
 * instant is in `[from, to)`, `direction` `in` or `out`, `min_amount` / `max_amount` in minor units
 * without the sign, `counterparty` a username; `limit` is the page size (1–100).
 */
export type HistoryFilter = Omit<NonNullable<operations["listWalletTransactions"]["parameters"]["query"]>, "cursor" | "from" | "to"> & {
  from?: Instant;
  to?: Instant;
};

/** One page of history and the cursor of the next one (`undefined` / `null` on the last page). */
export interface HistoryPage {
  items: Schema<"HistoryItem">[];
  nextCursor: string | undefined;
  /** The page's `next_cursor` as the API sends it: pass it back as `cursor`; `null` on the last page. */
  next_cursor: string | null;
}

function instant(t: Instant | undefined): string | undefined {
  return t instanceof Date ? t.toISOString() : t;
}

/** walletHistoryPage returns one page of a wallet's history, newest first in posting order. */
export async function walletHistoryPage(
  c: FlowxiClient,
  walletId: number,
  filter: HistoryFilter = {},
  cursor?: string,
): Promise<HistoryPage> {
  const query = { ...filter, from: instant(filter.from), to: instant(filter.to), ...(cursor ? { cursor } : {}) };
  const { data } = ok(await c.GET("/api/v1/wallets/{id}/transactions", { params: { path: { id: walletId }, query } }));
  return { items: data.items, nextCursor: data.next_cursor ?? undefined, next_cursor: data.next_cursor ?? null };
}

/**
 * walletHistoryPages yields every page of a wallet's history that `filter` selects, newest first,
 * following `next_cursor` until the last page. Pages never repeat or skip an item, even while new
 * movements arrive (they land above the first page).
 */
export async function* walletHistoryPages(c: FlowxiClient, walletId: number, filter: HistoryFilter = {}): AsyncGenerator<HistoryPage> {
  let cursor: string | undefined;
  do {
    const page = await walletHistoryPage(c, walletId, filter, cursor);
    yield page;
    cursor = page.nextCursor;
  } while (cursor);
}

/** walletHistory returns every item of a wallet's history that `filter` selects (all its pages), newest first. */
export async function walletHistory(c: FlowxiClient, walletId: number, filter: HistoryFilter = {}): Promise<Schema<"HistoryItem">[]> {
  const items: Schema<"HistoryItem">[] = [];
  for await (const page of walletHistoryPages(c, walletId, filter)) items.push(...page.items);
  return items;
}

/** walletBalanceAt returns a wallet's balance, pending holds and available balance as they were at `at` (not in the future). */
export async function walletBalanceAt(c: FlowxiClient, walletId: number, at: Instant): Promise<Schema<"BalanceAt">> {
  return ok(await c.GET("/api/v1/wallets/{id}/balance", { params: { path: { id: walletId }, query: { at: instant(at) ?? "" } } })).data;
}

// ---- Statements -----------------------------------------------------------------------------

/** A statement's period: `from` included, `to` excluded (at most 366 days), as RFC 3339 text or dates. */
export interface StatementPeriod {
  from: string | Date;
  to: string | Date;
}

/** The media types a statement comes in (the `Accept` header chooses). */
export type StatementFormat = "json" | "csv" | "pdf";

const statementAccept: Record<StatementFormat, string> = { json: "application/json", csv: "text/csv", pdf: "application/pdf" };

function statementParams(walletId: number, period: StatementPeriod) {
  const iso = (v: string | Date) => (typeof v === "string" ? v : v.toISOString());
  return { path: { id: walletId }, query: { from: iso(period.from), to: iso(period.to) } };
}

/**
 * statement returns the statement of one of the caller's wallets over a period: opening balance,
 * the movements in posting order with their running balance, closing balance and totals.
 */
export async function statement(c: FlowxiClient, walletId: number, period: StatementPeriod): Promise<Schema<"Statement">> {
  const r = await c.GET("/api/v1/wallets/{id}/statement", {
    params: statementParams(walletId, period),
    headers: { Accept: statementAccept.json },
  });
  // The 200 of this operation is JSON, CSV or PDF; asked for JSON, it is the envelope.
  const body = ok(r);
  if (typeof body === "string") throw new ApiError(r.response.status, undefined, r.response.url);
  return body.data;
}

/** statementCsv downloads the statement as RFC 4180 CSV text (read it with {@link parseCsv}). */
export async function statementCsv(c: FlowxiClient, walletId: number, period: StatementPeriod): Promise<string> {
  const r = await c.GET("/api/v1/wallets/{id}/statement", {
    params: statementParams(walletId, period),
    headers: { Accept: statementAccept.csv },
    parseAs: "text",
  });
  return ok(r);
}

/** statementPdf downloads the statement as a PDF printed in the client's locale. */
export async function statementPdf(c: FlowxiClient, walletId: number, period: StatementPeriod): Promise<Uint8Array> {
  const r = await c.GET("/api/v1/wallets/{id}/statement", {
    params: statementParams(walletId, period),
    headers: { Accept: statementAccept.pdf },
    parseAs: "arrayBuffer",
  });
  return new Uint8Array(ok(r));
}

/**
 * parseCsv reads RFC 4180 CSV (quoted fields with doubled quotes, CRLF or LF line ends) into rows
 * of cells. The statement's CSV neutralizes cells a spreadsheet would evaluate with a leading `'`.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || (ch === "\r" && text[i + 1] === "\n")) {
      if (ch === "\r") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += ch;
  }
  if (cell !== "" || row.length > 0) rows.push([...row, cell]);
  return rows;
}

/** minorUnits turns a CSV amount in major units (`-25.00`) back into minor units (`-2500`). */
export function minorUnits(major: string, exponent: number): number {
  const negative = major.startsWith("-");
  const [whole = "0", frac = ""] = (negative ? major.slice(1) : major).split(".");
  if (frac.length !== exponent || !/^\d+$/.test(whole + frac || "0")) throw new Error(`not an amount with ${exponent} decimals: ${major}`);
  const n = Number(whole + frac);
  return negative ? -n : n;
}

// ---- Transfers and Internal -----------------------------------------------------------------

/** A posted money movement, and whether the server replayed it for a repeated Idempotency-Key. */
export interface Posted {
  code: string;
  message: string;
  transaction: Schema<"Transaction">;
  replayed: boolean;
}

function posted(r: { data?: Schema<"TransactionResponse">; error?: unknown; response: Response }): Posted {
  const body = ok(r);
  return {
    code: body.code,
    message: body.message,
    transaction: body.data,
    replayed: r.response.headers.get("Idempotent-Replayed") === "true",
  };
}

/** createTransfer sends money to another user; retry with the same key after a timeout. */
export async function createTransfer(c: FlowxiClient, idempotencyKey: string, body: Schema<"TransferRequest">): Promise<Posted> {
  return posted(await c.POST("/api/v1/transfers", { params: { header: { "Idempotency-Key": idempotencyKey } }, body }));
}

/** createDeposit credits a wallet through the internal API (a client built with an X-Internal-Key header). */
export async function createDeposit(c: FlowxiClient, idempotencyKey: string, body: Schema<"DepositRequest">): Promise<Posted> {
  return posted(await c.POST("/api/v1/internal/deposits", { params: { header: { "Idempotency-Key": idempotencyKey } }, body }));
}

// Compliance -------------------------------------------------------------------------------------

/** getCompliance returns the caller's account type, cases (with what is missing) and restrictions. */
export async function getCompliance(c: FlowxiClient): Promise<Schema<"ComplianceOverview">> {
  return ok(await c.GET("/api/v1/compliance")).data;
}

/** saveKycData saves the KYC personal data (fields left out are taken from the profile). */
export async function saveKycData(c: FlowxiClient, body: Schema<"KycDataRequest">): Promise<Schema<"ComplianceCase">> {
  return ok(await c.PUT("/api/v1/compliance/kyc", { body })).data;
}

/** uploadComplianceDocument sends one document; its type is decided by the server from its bytes. */
export async function uploadComplianceDocument(
  c: FlowxiClient,
  kind: Schema<"DocumentKind">,
  file: Blob,
  filename: string,
): Promise<Schema<"ComplianceDocument">> {
  const r = await c.POST("/api/v1/compliance/documents", {
    body: { kind, file: filename },
    bodySerializer: () => {
      const form = new FormData();
      form.append("kind", kind);
      form.append("file", file, filename);
      return form;
    },
  });
  return ok(r).data;
}

/** submitComplianceCase submits the KYC or KYB case for review. */
export async function submitComplianceCase(c: FlowxiClient, kind: Schema<"CaseKind">): Promise<Schema<"ComplianceCase">> {
  return ok(await c.POST("/api/v1/compliance/{kind}/submit", { params: { path: { kind } } })).data;
}

/** decideComplianceCase applies a reviewer's action (internal key with `compliance:write`). */
export async function decideComplianceCase(
  c: FlowxiClient,
  id: number,
  body: Schema<"CaseDecisionRequest">,
): Promise<Schema<"ComplianceCaseSummary">> {
  return ok(await c.POST("/api/v1/internal/compliance/cases/{id}/decision", { params: { path: { id } }, body })).data;
}

/** listComplianceCases returns one page of the review queue (internal key with `compliance:read`). */
export async function listComplianceCases(
  c: FlowxiClient,
  status: Schema<"CaseStatus">,
  cursor?: string,
): Promise<Schema<"ComplianceCasesResponse">> {
  return ok(await c.GET("/api/v1/internal/compliance/cases", { params: { query: { status, limit: 100, cursor } } }));
}

// Internal events --------------------------------------------------------------------------------

/**
 * listEvents returns the page of the domain events feed after `after` (internal key with
 * `events:read`), in commit order; pass its `next_cursor` back as `after` to read on (poll with it
 * when the page is empty). `types` filters (sent comma-separated, as the spec says).
 */
export async function listEvents(
  c: FlowxiClient,
  after?: string,
  types?: Schema<"EventType">[],
  limit = 100,
): Promise<Schema<"EventsPage">> {
  return ok(
    await c.GET("/api/v1/internal/events", {
      params: { query: { after, types, limit } },
      querySerializer: { array: { style: "form", explode: false } },
    }),
  );
}
