/**
 * Verification of Flowxi webhook deliveries (Node.js only: it uses node:crypto), following the
 * recipe of openapi.yaml (tag "Internal webhooks"): the `Flowxi-Signature` header carries
 * `t=<unix seconds>` and one `v1=<hex HMAC-SHA256 of "t.body">` per signing secret (two during
 * a rotation's overlap); `t` must be within the replay window of the receiver's clock.
 *
 * ```ts
 * import { verifyWebhook } from "@flowxi/client/webhooks";
 *
 * http.createServer(async (req, res) => {
 *   const body = Buffer.concat(await Array.fromAsync(req)); // the raw bytes, before any parsing
 *   const v = verifyWebhook(process.env.FLOWXI_WEBHOOK_SECRET!, req.headers, body);
 *   if (!v.ok) return res.writeHead(400).end();
 *   if (await seenBefore(v.eventId)) return res.writeHead(200).end(); // at least once: de-duplicate
 *   await queue(JSON.parse(body.toString("utf8")));
 *   res.writeHead(200).end();
 * });
 * ```
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The replay window of the spec: a signature more than this far from the clock is refused. */
export const REPLAY_WINDOW_SECONDS = 300;

/** Headers as Node's IncomingMessage gives them, a Fetch Headers, or a plain record. */
export type WebhookHeaders =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

/** Why a delivery was refused. */
export type WebhookRefusal = "missing_header" | "malformed_header" | "stale_timestamp" | "bad_signature";

/** The outcome of verifyWebhook. */
export type WebhookVerification =
  | { ok: true; eventId: string; eventType: string; timestamp: number }
  | { ok: false; reason: WebhookRefusal };

/** Options of verifyWebhook (tests move the clock). */
export interface VerifyOptions {
  /** The receiver's clock, in milliseconds since the epoch (default Date.now()). */
  now?: number;
  /** The tolerance in seconds (default REPLAY_WINDOW_SECONDS). */
  toleranceSeconds?: number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : record[key];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * verifyWebhook checks one delivery: `secret` is the subscription's whole `whsec_…` secret,
 * `headers` the request's headers, `body` its raw bytes (or the exact string received).
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  body: Uint8Array | string,
  options: VerifyOptions = {},
): WebhookVerification {
  const sig = header(headers, "Flowxi-Signature");
  const eventId = header(headers, "Flowxi-Event-Id");
  if (!sig || !eventId) return { ok: false, reason: "missing_header" };
  let t: string | undefined;
  const v1: string[] = [];
  for (const item of sig.split(",")) {
    const i = item.indexOf("=");
    if (i < 0) return { ok: false, reason: "malformed_header" };
    const [k, v] = [item.slice(0, i).trim(), item.slice(i + 1).trim()];
    if (k === "t" && t === undefined) t = v;
    else if (k === "v1") v1.push(v);
  }
  if (t === undefined || !/^\d+$/.test(t) || v1.length === 0) return { ok: false, reason: "malformed_header" };
  const timestamp = Number(t);
  const now = (options.now ?? Date.now()) / 1000;
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? REPLAY_WINDOW_SECONDS)) {
    return { ok: false, reason: "stale_timestamp" };
  }
  const mac = createHmac("sha256", Buffer.from(secret, "utf8"));
  mac.update(Buffer.from(`${t}.`, "utf8"));
  mac.update(typeof body === "string" ? Buffer.from(body, "utf8") : body);
  const expected = Buffer.from(mac.digest("hex"), "utf8");
  const match = v1.some((s) => {
    const given = Buffer.from(s, "utf8");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!match) return { ok: false, reason: "bad_signature" };
  return { ok: true, eventId, eventType: header(headers, "Flowxi-Event-Type") ?? "", timestamp };
}
