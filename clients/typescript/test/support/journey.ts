/**
 * The journey's state and step runner. Each step declares the capabilities it needs (an account, a
 * session, 2FA on) and those it gives. A step whose operation still answers 501 NOT_IMPLEMENTED is
 * skipped with that reason, and so is every later step that needs what it would have given: the
 * journey grows by itself as operations land, and nothing missing is ever reported as a pass.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { it, type TestContext } from "node:test";

import * as OTPAuth from "otpauth";

import { ApiError, createFlowxiClient, type FlowxiClient, type Locale } from "../../src/index.js";
import type { Catalog } from "./catalog.js";
import type { Mail, Mailbox } from "./mailbox.js";

/** What a step can need or give. */
export type Capability = "account" | "session" | "twofa" | "money";

/** Journey is one user's run through the API in one language. */
export class Journey {
  readonly email: string;
  readonly password: string;
  userId = 0;
  totp: OTPAuth.TOTP | undefined;
  /** Content-Language of the last response. */
  lastLanguage: string | null = null;
  private readonly has = new Set<Capability>();
  private readonly missing = new Map<Capability, string>();
  private client: FlowxiClient | undefined;
  private base = 0;
  private used = 0;

  constructor(
    readonly locale: Locale,
    private readonly url: () => string,
    readonly catalog: Catalog,
    private readonly subjects: Map<string, string>,
    private readonly otherSubjects: Map<string, string>,
  ) {
    const id = randomBytes(6).toString("hex");
    this.email = `journey.${locale}.${id}@example.com`;
    this.password = `Jy-${randomBytes(12).toString("base64url")}-9!`;
  }

  /** api is this journey's client (created on first use, once the server is up). */
  get api(): FlowxiClient {
    if (!this.client) {
      this.client = createFlowxiClient(this.url(), { locale: this.locale });
      this.client.use({
        onResponse: ({ response }) => {
          this.lastLanguage = response.headers.get("content-language");
          return undefined;
        },
      });
    }
    return this.client;
  }

  /** answeredInLocale asserts that the last answer declared this journey's language. */
  answeredInLocale(): void {
    assert.equal(this.lastLanguage, this.locale, "Content-Language");
  }

  /**
   * mail waits for the `template` e-mail to this journey's user received after `cursor`, and checks
   * that it is written in the journey's language: when the template's subject is fixed, the e-mail
   * must carry the subject of locales/<lang>/mail (a subject of the other language never matches).
   */
  async mail(mailbox: Mailbox, cursor: number, template: string): Promise<Mail> {
    const want = this.subjects.get(template);
    const other = this.otherSubjects.get(template);
    const mail = await mailbox.next(this.email, cursor, (m) => want === undefined || m.subject === want || m.subject === other);
    if (want !== undefined) assert.equal(mail.subject, want, `subject of the ${template} e-mail`);
    if (mail.language) assert.equal(mail.language, this.locale, "Content-Language of the e-mail");
    return mail;
  }

  /** localized asserts that the last answer is in this journey's language with the catalogue's message. */
  localized(body: { code: string; message: string }): void {
    assert.equal(this.lastLanguage, this.locale, `Content-Language of ${body.code}`);
    const want = this.catalog[body.code];
    // Messages with parameters (":attribute") are rendered; only fixed ones are compared exactly.
    if (want !== undefined && !want.includes(":")) assert.equal(body.message, want, `message of ${body.code}`);
    else assert.ok(body.message.length > 0, `message of ${body.code}`);
  }

  /**
   * startTotp prepares codes for a run of second-factor checks. A time step is accepted once per
   * user and within ±1 step, so the journey uses steps T-1, T, T+1 of the current step T, in
   * increasing order, and first waits for a fresh window when fewer than 12 s of T are left.
   */
  async startTotp(secret: string): Promise<void> {
    this.totp = new OTPAuth.TOTP({
      issuer: "Flowxi",
      label: this.email,
      algorithm: "SHA1",
      digits: 6,
      period: 30,
      secret: OTPAuth.Secret.fromBase32(secret),
    });
    const left = 30_000 - (Date.now() % 30_000);
    if (left < 12_000) await new Promise((r) => setTimeout(r, left + 200));
    this.base = Math.floor(Date.now() / 30_000) - 1;
    this.used = 0;
  }

  /** nextCode is the TOTP code of the next unused time step (at most three per {@link startTotp}). */
  nextCode(): string {
    assert.ok(this.totp, "2FA secret not set");
    assert.ok(this.used < 3, "only steps T-1, T and T+1 are accepted");
    const step = this.base + this.used++;
    assert.equal(Math.floor(Date.now() / 30_000) - this.base, 1, "the TOTP window moved during the 2FA steps");
    return this.totp.generate({ timestamp: step * 30_000 });
  }

  /**
   * step registers one test. It runs only when every capability in `needs` was given by an earlier
   * step; otherwise it is skipped with the reason.
   */
  step(name: string, needs: Capability[], gives: Capability[], fn: (t: TestContext) => Promise<void>): void {
    it(name, { timeout: 90_000 }, async (t) => {
      // Only the first (root) cause is kept, so a skip names what has to land, not a chain.
      const lack = (cause: string): void => {
        for (const c of gives) if (!this.has.has(c) && !this.missing.has(c)) this.missing.set(c, cause);
      };
      const lacking = needs.find((c) => !this.has.has(c));
      if (lacking) {
        const cause = this.missing.get(lacking) ?? "an earlier step failed";
        lack(cause);
        t.skip(`needs ${lacking}; ${cause}`);
        return;
      }
      try {
        await fn(t);
      } catch (err) {
        if (err instanceof ApiError && err.notImplemented) {
          const cause = `${err.path} not implemented yet (501 NOT_IMPLEMENTED)`;
          lack(cause);
          t.skip(cause);
          return;
        }
        lack(`step "${name}" failed`);
        throw err;
      }
      for (const c of gives) this.has.add(c);
    });
  }

  /** enabled reports whether a capability was given. */
  enabled(c: Capability): boolean {
    return this.has.has(c);
  }
}
