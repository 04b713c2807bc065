/**
 * verifyWebhook (src/webhooks.ts, Node's crypto) against real deliveries of the Go server,
 * recorded by services/webhooks (TestSignatureVectorsForTheTypeScriptClient): two independent
 * implementations of the recipe in openapi.yaml agree, a rotated secret verifies during its
 * overlap, and a stale timestamp, another secret or a changed body is refused.
 * Run by scripts/journey.sh (make test) with node --test after the build.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { REPLAY_WINDOW_SECONDS, verifyWebhook } from "../src/webhooks.js";

interface Vector {
  name: string;
  secrets: string[];
  headers: Record<string, string>;
  body: string;
}

const vectors: Vector[] = JSON.parse(
  readFileSync(new URL("../../test/fixtures/webhook-deliveries.json", import.meta.url), "utf8"),
);

function timestampOf(v: Vector): number {
  const t = /^t=(\d+),/.exec(v.headers["Flowxi-Signature"] ?? "");
  assert.ok(t?.[1], `${v.name}: no timestamp`);
  return Number(t[1]);
}

test("the recorded deliveries cover a plain one and a rotation's overlap", () => {
  assert.ok(vectors.some((v) => v.secrets.length === 1));
  assert.ok(vectors.some((v) => v.secrets.length === 2 && (v.headers["Flowxi-Signature"] ?? "").split("v1=").length === 3));
});

for (const v of vectors) {
  const t = timestampOf(v);
  test(`${v.name}: every signing secret verifies it within the replay window`, () => {
    for (const secret of v.secrets) {
      for (const skew of [0, 60, -60, REPLAY_WINDOW_SECONDS, -REPLAY_WINDOW_SECONDS]) {
        const out = verifyWebhook(secret, v.headers, Buffer.from(v.body, "utf8"), { now: (t + skew) * 1000 });
        assert.deepEqual(out, { ok: true, eventId: v.headers["Flowxi-Event-Id"], eventType: v.headers["Flowxi-Event-Type"], timestamp: t });
      }
    }
    const fetchHeaders = new Headers(v.headers);
    assert.equal(verifyWebhook(v.secrets[0]!, fetchHeaders, v.body, { now: t * 1000 }).ok, true);
  });

  test(`${v.name}: a stale or future timestamp is refused`, () => {
    for (const skew of [REPLAY_WINDOW_SECONDS + 1, -(REPLAY_WINDOW_SECONDS + 1), 86400]) {
      assert.deepEqual(verifyWebhook(v.secrets[0]!, v.headers, v.body, { now: (t + skew) * 1000 }), { ok: false, reason: "stale_timestamp" });
    }
  });

  test(`${v.name}: another secret, a changed body or a forged header is refused`, () => {
    const now = { now: t * 1000 };
    const other = "whsec_" + "A".repeat(43);
    assert.deepEqual(verifyWebhook(other, v.headers, v.body, now), { ok: false, reason: "bad_signature" });
    assert.deepEqual(verifyWebhook(v.secrets[0]!, v.headers, v.body.replace('"version":1', '"version":2'), now), { ok: false, reason: "bad_signature" });
    const sig = v.headers["Flowxi-Signature"]!;
    const moved = { ...v.headers, "Flowxi-Signature": sig.replace(`t=${t}`, `t=${t + 1}`) };
    assert.deepEqual(verifyWebhook(v.secrets[0]!, moved, v.body, now), { ok: false, reason: "bad_signature" });
    const { ["Flowxi-Signature"]: _, ...unsigned } = v.headers;
    assert.deepEqual(verifyWebhook(v.secrets[0]!, unsigned, v.body, now), { ok: false, reason: "missing_header" });
    assert.deepEqual(verifyWebhook(v.secrets[0]!, { ...v.headers, "Flowxi-Signature": "v1=00" }, v.body, now), { ok: false, reason: "malformed_header" });
  });
}
