/**
 * End-to-end journey through the generated client only, against the real flowxi binary on real
 * PostgreSQL and Redis, with e-mails read from a real SMTP server. scripts/journey.sh (run by
 * `make test`) builds the binary, creates a fresh database and runs this file with node --test.
 *
 * Run in French and in English: register by e-mail code, log in, list devices, enable 2FA with a
 * TOTP library, log in again through the challenge, step up, read and update the profile, move
 * deposit through the internal API and transfer to a second user with an
 * Idempotency-Key, download the wallet's statement as JSON, CSV and PDF and check their totals,
 * log out. Steps whose operation still answers 501 are
 * skipped with that reason (see support/journey.ts).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, describe } from "node:test";

import * as OTPAuth from "otpauth";

import * as flowxi from "../src/index.js";
import { loadCatalog, mailSubjects } from "./support/catalog.js";
import { moneySteps } from "./money.js";
import { Journey } from "./support/journey.js";
import { Mailbox, otpFrom } from "./support/mailbox.js";
import { startServer, type RunningServer } from "./support/server.js";

const root = process.env.FLOWXI_ROOT ?? fileURLToPath(new URL("../../../../", import.meta.url));
const mailbox = new Mailbox();
let server: RunningServer | undefined;

before(async () => {
  const smtpPort = await mailbox.start();
  server = await startServer(smtpPort);
});

after(async () => {
  await server?.stop();
  await mailbox.stop();
});

const url = (): string => {
  assert.ok(server, "server not started");
  return server.url;
};

for (const locale of ["fr", "en"] as const) {
  describe(`journey (${locale})`, () => {
    const other = locale === "fr" ? "en" : "fr";
    const j = new Journey(locale, url, loadCatalog(root, locale), mailSubjects(root, locale), mailSubjects(root, other));
    let spec = "";

    j.step("the server publishes its contract and reference page", [], [], async () => {
      spec = await flowxi.getOpenapiSpec(j.api);
      assert.match(spec, /^openapi: 3\.0\.\d+\n/);
      assert.ok(spec.includes("operationId: login"), "the served contract describes login");
      const page = flowxi.ok(await j.api.GET("/docs", { parseAs: "text" }));
      assert.ok(page.includes("<title>Flowxi API</title>"), "the reference page is served");
    });

    j.step("health answers in the requested language", [], [], async () => {
      const h = await flowxi.health(j.api);
      assert.equal(h.status, "ok");
      assert.deepEqual(h.checks, { postgres: "ok", redis: "ok" });
      j.localized(h);
    });

    j.step("register by e-mail code (send, read the e-mail, verify, set the password)", [], ["account", "session"], async () => {
      const cursor = mailbox.count();
      const sent = flowxi.ok(await j.api.POST("/api/v1/register-email-code/send", { body: { email: j.email } }));
      assert.equal(sent.code, "OTP_SENT");
      j.localized(sent);

      const code = otpFrom(await j.mail(mailbox, cursor, "register_code"));

      const verified = flowxi.ok(await j.api.POST("/api/v1/register-email-code/verify", { body: { email: j.email, code } }));
      assert.equal(verified.valid, true);
      j.localized(verified);

      const issued = await flowxi.setPasswordRegisterEmailCode(j.api, {
        email: j.email,
        code,
        password: j.password,
        device_id: `journey-register-${locale}`,
        device_type: "web",
        device_name: "Journey registration",
      });
      assert.equal(issued.code, "TOKEN_ISSUED");
      assert.equal(issued.account_status, "active");
      assert.equal(issued.token_type, "Bearer");
      assert.match(issued.access_token, /^\d+\|.{20,}$/);
      j.localized(issued);
      j.userId = issued.user_id;
    });

    j.step("log in with e-mail and password", ["account"], ["session"], async () => {
      const outcome = await flowxi.login(j.api, {
        email: j.email.toUpperCase(), // e-mails are normalized server-side
        password: j.password,
        device_id: `journey-web-${locale}`,
        device_type: "web",
        device_name: "Journey browser",
      });
      assert.equal(outcome.kind, "token", "2FA is not on yet");
      if (outcome.kind === "token" && j.userId) assert.equal(outcome.userId, j.userId);
      j.answeredInLocale();
    });

    j.step("list devices", ["session"], [], async () => {
      const devices = await flowxi.listDevices(j.api);
      const current = devices.filter((d) => d.current);
      assert.equal(current.length, 1, "exactly one current device");
      assert.equal(current[0]?.device_id, `journey-web-${locale}`);
      assert.equal(current[0]?.device_name, "Journey browser");
    });

    j.step("enable 2FA with codes from a TOTP library", ["session"], ["twofa"], async () => {
      const status = await flowxi.getTwofaStatus(j.api);
      assert.equal(status.enabled, false);
      j.localized(status);
      assert.ok(status.secret && status.otpauth_uri, "a pending secret and its otpauth URI");
      // The URI is what an authenticator app scans: it must carry the same secret.
      const scanned = OTPAuth.URI.parse(status.otpauth_uri);
      assert.ok(scanned instanceof OTPAuth.TOTP);
      assert.equal(scanned.issuer, "Flowxi");
      assert.equal(scanned.secret.base32.replace(/=+$/, ""), status.secret.replace(/=+$/, "").toUpperCase());

      await j.startTotp(status.secret);
      const cursor = mailbox.count();
      const recovery = await flowxi.enableTwofa(j.api, j.nextCode());
      assert.equal(recovery.length, 10);
      assert.equal(new Set(recovery).size, 10, "recovery codes are distinct");

      const enabled = await flowxi.getTwofaStatus(j.api);
      assert.equal(enabled.enabled, true);
      assert.equal(enabled.secret, null, "the secret is never shown again");
      // The owner is told by e-mail, in their language.
      await j.mail(mailbox, cursor, "twofa_enabled");
    });

    j.step("log in again through the 2FA challenge", ["twofa"], ["session"], async () => {
      const previous = j.api.token();
      const outcome = await flowxi.login(j.api, {
        email: j.email,
        password: j.password,
        device_id: `journey-web-${locale}`,
        device_type: "web",
        device_name: "Journey browser",
      });
      assert.equal(outcome.kind, "challenge", "2FA is on: a challenge, no token");
      if (outcome.kind !== "challenge") return;
      assert.ok(outcome.expiresIn > 0 && outcome.expiresIn <= 300);
      j.answeredInLocale();

      const userId = await flowxi.verifyLogin2fa(j.api, outcome.challengeId, j.nextCode());
      if (j.userId) assert.equal(userId, j.userId);
      assert.notEqual(j.api.token(), previous);

      // One token per device: the previous token of this device no longer works.
      const stale = flowxi.createFlowxiClient(url(), { locale, token: previous });
      const { error, response } = await stale.GET("/api/v1/me");
      assert.equal(response.status, 401);
      assert.equal(error?.code, "UNAUTHENTICATED");
    });

    j.step("step up with a fresh TOTP code", ["twofa", "session"], [], async () => {
      const verified = flowxi.ok(await j.api.POST("/api/v1/auth/2fa/verify", { body: { code: j.nextCode() } }));
      assert.equal(verified.success, true);
      j.localized(verified);
    });

    j.step("read and update the profile", ["session"], [], async () => {
      const me = await flowxi.getMe(j.api);
      assert.equal(me.email, j.email);
      assert.equal(me.status, "active");
      assert.equal(me.locale, locale, "the locale of registration is kept");
      assert.equal(me.twofa_enabled, j.enabled("twofa"));
      assert.match(me.username, /^fx\d{8}$/);

      const names = locale === "fr" ? { first_name: "Élodie", last_name: "N'Diaye-Hounkpè" } : { first_name: "Ada", last_name: "Lovelace" };
      const body = flowxi.ok(
        await j.api.PATCH("/api/v1/me", { body: { ...names, birth_date: "1990-04-12", country: "bj", nationality: "ben" } }),
      );
      j.localized(body);
      const updated = body.data;
      assert.equal(updated.first_name, names.first_name);
      assert.equal(updated.last_name, names.last_name);
      assert.equal(updated.country, "BJ", "country is upper-cased");
      assert.equal(updated.nationality, "BEN");

      const again = await flowxi.getMe(j.api);
      assert.equal(again.first_name, names.first_name);
      assert.equal(again.birth_date, "1990-04-12");
    });

    moneySteps(j, mailbox, url);

    j.step("log out", ["session"], [], async () => {
      await flowxi.logout(j.api);
      const { error, response } = await j.api.GET("/api/v1/me");
      assert.equal(response.status, 401, "the token is revoked");
      assert.equal(error?.code, "UNAUTHENTICATED");
      j.answeredInLocale();
    });
  });
}
