/**
 * One typed call for every operation of the spec, by operationId, and one paging helper for every
 * paged list. The operations, their codes per status and where a page keeps its items and cursor
 * come from `operations.ts`, generated from openapi.yaml (`make generate`): an operation added to the
 * spec is callable here, and a paged list pages here, without editing this file.
 *
 * ```ts
 * const r = await call(api, "login", { body });
 * if (r.ok && r.code === "MFA_REQUIRED") … // r.code: "LOGIN_SUCCESS" | "MFA_REQUIRED" | the error codes
 * if (hasCode(r, "VALIDATION_FAILED")) r.body.errors;  // narrowed to the 422 envelope
 * for await (const e of paginate(api, "listSecurityEvents", { params: { query: { limit: 50 } } })) …
 * ```
 */
import type { MaybeOptionalInit } from "openapi-fetch";

import type { FlowxiClient } from "./client.js";
import { ApiError, type ErrorEnvelope } from "./errors.js";
import { operationTable, type OperationId, type PagedOperationId } from "./operations.js";
import type { operations, paths } from "./schema.js";

type Table = typeof operationTable;
type PathOf<Op extends OperationId> = Table[Op]["path"] & keyof paths;
type MethodOf<Op extends OperationId> = Lowercase<Table[Op]["method"]> & keyof paths[PathOf<Op>];

/** The request options of an operation (path, query and header parameters, body), as openapi-fetch types them. */
export type InitOf<Op extends OperationId> = MaybeOptionalInit<paths[PathOf<Op>], MethodOf<Op>>;

/** The documented statuses of an operation (`"default"` for the catch-all error). */
export type StatusOf<Op extends OperationId> = keyof Table[Op]["codes"] & keyof operations[Op]["responses"];

/** The codes the spec allows for an operation at a status (`never` when that answer has no code). */
export type CodeOf<Op extends OperationId, S extends StatusOf<Op> = StatusOf<Op>> = Table[Op]["codes"][S] extends readonly (infer C)[]
  ? C
  : never;

type ContentOf<R> = R extends { content: infer C } ? (C extends Record<string, unknown> ? C[keyof C] : undefined) : undefined;
type WithCode<B, C> = B extends { code: unknown } ? Omit<B, "code"> & { code: C } : B;
type IsSuccess<S> = S extends number ? (`${S}` extends `2${string}` | `3${string}` ? true : false) : false;

/** The body of an operation's answer at a status, its `code` typed as the union the spec allows there. */
export type BodyOf<Op extends OperationId, S extends StatusOf<Op>> = WithCode<ContentOf<operations[Op]["responses"][S]>, CodeOf<Op, S>>;

/**
 * Reply is the answer of {@link call}: one member per documented status, so `ok`, `status` and `code`
 * narrow `body` (a code the spec does not allow for this operation fails `tsc`).
 */
export type Reply<Op extends OperationId> = {
  [S in StatusOf<Op>]: {
    operation: Op;
    status: S extends number ? S : number;
    ok: IsSuccess<S>;
    code: CodeOf<Op, S>;
    body: BodyOf<Op, S>;
    response: Response;
  };
}[StatusOf<Op>];

/** The members of a reply `R` that may carry code `C`, with `code` (and the body's) narrowed to it. */
export type Narrowed<R, C> = R extends { code: infer K; body: infer B } ? (C extends K ? R & { code: C; body: B & { code: C } } : never) : never;

/** hasCode narrows a {@link Reply} by its code: `if (hasCode(r, "MFA_REQUIRED")) r.body.data.challenge_id`. */
export function hasCode<R extends { code: unknown }, C extends R["code"] & string>(reply: R, ...codes: C[]): reply is Narrowed<R, C> & R {
  return codes.includes(reply.code as C);
}

type Init = { parseAs?: string; params?: { query?: Record<string, unknown> } } & Record<string, unknown>;

/**
 * call sends operation `op` with its typed options and returns every documented answer as a value
 * (errors too: check `ok`, or use {@link expectOk}). A success that is not JSON is read as text unless
 * `parseAs` says otherwise.
 */
export async function call<Op extends OperationId>(c: FlowxiClient, op: Op, ...init: undefined extends InitOf<Op> ? [InitOf<Op>?] : [InitOf<Op>]): Promise<Reply<Op>> {
  const entry = operationTable[op];
  const opts = { ...((init[0] ?? {}) as Init) };
  const media: readonly string[] = entry.media;
  if (!opts.parseAs && media.length > 0 && !media.includes("application/json")) opts.parseAs = "text";
  if (!opts.parseAs && media.length === 0) opts.parseAs = "text";
  const send = c.request as unknown as (m: string, p: string, i: unknown) => Promise<{ data?: unknown; error?: unknown; response: Response }>;
  const r = await send(entry.method.toLowerCase(), entry.path, opts);
  const body = r.response.ok ? r.data : r.error;
  const code = body && typeof body === "object" && "code" in body ? (body as { code: unknown }).code : undefined;
  return { operation: op, status: r.response.status, ok: r.response.ok, code, body, response: r.response } as Reply<Op>;
}

/** The success members of a reply. */
export type Success<Op extends OperationId> = Extract<Reply<Op>, { ok: true }>;

/** expectOk returns a successful reply and throws an {@link ApiError} for any other. */
export function expectOk<Op extends OperationId>(reply: Reply<Op>): Success<Op> {
  if (reply.ok) return reply as Success<Op>;
  throw new ApiError(reply.response.status, reply.body as ErrorEnvelope | undefined, reply.response.url);
}

type PageBody<Op extends PagedOperationId> = Extract<Reply<Op>, { status: 200 }>["body"];
type ItemsAt<B, P> = P extends readonly [infer K, ...infer Rest] ? (K extends keyof B ? ItemsAt<B[K], Rest> : never) : B;

/** The item type of a paged operation's list. */
export type PageItem<Op extends PagedOperationId> = ItemsAt<PageBody<Op>, Table[Op]["paged"]["items"]> extends readonly (infer I)[] ? I : never;

function at(body: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), body);
}

/**
 * pages yields every page of a paged operation, from the options' first page to the last: it passes
 * each page's next cursor back (`cursor`, or `after` for the events feed) until the spec's end of
 * list — a null cursor, `has_more: false`, or an empty page. A non-2xx answer throws an {@link ApiError}.
 */
export async function* pages<Op extends PagedOperationId>(
  c: FlowxiClient,
  op: Op,
  ...init: undefined extends InitOf<Op> ? [InitOf<Op>?] : [InitOf<Op>]
): AsyncGenerator<PageBody<Op>> {
  const paged = operationTable[op].paged;
  const base = (init[0] ?? {}) as Init;
  let cursor: unknown = base.params?.query?.[paged.cursor];
  for (;;) {
    const opts = { ...base, params: { ...base.params, query: { ...base.params?.query, ...(cursor ? { [paged.cursor]: cursor } : {}) } } };
    const reply = expectOk(await call(c, op, ...([opts] as [InitOf<Op>])));
    const body = reply.body as PageBody<Op>;
    yield body;
    const items = at(body, paged.items);
    const next = at(body, paged.next);
    const more = paged.more ? at(body, paged.more) : true;
    if (!next || next === cursor || more === false || !Array.isArray(items) || items.length === 0) return;
    cursor = next;
  }
}

/**
 * paginate yields every item of a paged list, following the cursor to the end (see {@link pages}):
 * `for await (const item of paginate(api, "listWalletTransactions", { params: { path: { id } } }))`.
 */
export async function* paginate<Op extends PagedOperationId>(
  c: FlowxiClient,
  op: Op,
  ...init: undefined extends InitOf<Op> ? [InitOf<Op>?] : [InitOf<Op>]
): AsyncGenerator<PageItem<Op>> {
  for await (const page of pages(c, op, ...init)) {
    yield* at(page, operationTable[op].paged.items) as PageItem<Op>[];
  }
}
