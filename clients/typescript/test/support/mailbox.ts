/**
 * A real SMTP server for the journey: the Flowxi server under test sends its e-mails here
 * (SMTP_URL=smtp://127.0.0.1:<port>?tls=none), and the journey reads the codes from them, exactly
 * as a user reads their inbox.
 */
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/** One received e-mail. */
export interface Mail {
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** The Content-Language header, when the sender set one. */
  language: string | undefined;
}

type Waiter = { to: string; since: number; match: (m: Mail) => boolean; resolve: (m: Mail) => void };

/** Mailbox collects every message the SMTP server accepts. */
export class Mailbox {
  private readonly mails: Mail[] = [];
  private waiters: Waiter[] = [];
  private readonly server: SMTPServer;

  constructor() {
    this.server = new SMTPServer({
      // Plain SMTP on loopback: no TLS is offered, no authentication is required.
      secure: false,
      disabledCommands: ["STARTTLS", "AUTH"],
      authOptional: true,
      logger: false,
      size: 1 << 20,
      onData: (stream, _session, callback) => {
        simpleParser(stream)
          .then((parsed) => {
            const to = (Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : [])
              .flatMap((a) => a.value.map((v) => (v.address ?? "").toLowerCase()));
            const lang = parsed.headers.get("content-language");
            this.add({
              to,
              subject: parsed.subject ?? "",
              text: parsed.text ?? "",
              html: typeof parsed.html === "string" ? parsed.html : "",
              language: typeof lang === "string" ? lang : undefined,
            });
            callback();
          })
          .catch((err: Error) => callback(err));
      },
    });
  }

  /** start listens on a free loopback port and returns it. */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => {
        const addr = this.server.server.address();
        if (addr && typeof addr === "object") resolve(addr.port);
        else reject(new Error("smtp: no port"));
      });
    });
  }

  /** stop closes the server. */
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** count is the number of e-mails received so far (a cursor for {@link next}). */
  count(): number {
    return this.mails.length;
  }

  /**
   * next waits for the first e-mail to `to` received after cursor `since` (from {@link count}) that
   * `match` accepts, so an older code or another notification is never picked up by mistake.
   */
  next(to: string, since: number, match: (m: Mail) => boolean = () => true, timeoutMs = 30_000): Promise<Mail> {
    const addr = to.toLowerCase();
    const found = this.mails.slice(since).find((m) => m.to.includes(addr) && match(m));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { to: addr, since, match, resolve };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const subjects = this.mails.filter((m) => m.to.includes(addr)).map((m) => JSON.stringify(m.subject));
        reject(new Error(`no matching e-mail to ${to} within ${timeoutMs} ms (received for it: ${subjects.join(", ") || "none"})`));
      }, timeoutMs);
      waiter.resolve = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push(waiter);
    });
  }

  private add(m: Mail): void {
    this.mails.push(m);
    const index = this.mails.length - 1;
    for (const w of [...this.waiters]) {
      if (index >= w.since && m.to.includes(w.to) && w.match(m)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(m);
      }
    }
  }
}

/** otpFrom extracts the 6-digit code of an e-mail (text part, else HTML). */
export function otpFrom(m: Mail): string {
  const match = /\b(\d{6})\b/.exec(m.text) ?? /\b(\d{6})\b/.exec(m.html.replace(/<[^>]+>/g, " "));
  if (!match?.[1]) throw new Error(`no 6-digit code in the e-mail "${m.subject}"`);
  return match[1];
}
