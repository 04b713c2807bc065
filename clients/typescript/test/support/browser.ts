/**
 * The browser side of the browser journey: a front end's page served on its own origin (another
 * port than the API), loading the built package (dist/) as ES modules with an import map for
 * openapi-fetch, and Debian's Chromium (/usr/bin/chromium) driven by playwright-core — no browser
 * build is downloaded. Every console error, failed request and answer of the API that the spec does
 * not describe is recorded; {@link Browser.problems} lists them.
 */
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";

import { chromium, type BrowserContext, type Page, type Response } from "playwright-core";

import type { Contract } from "./contract.js";

/** Where Debian's chromium package puts the browser (scripts/services.sh chromium installs it). */
export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

/** The flags the journey runs Chromium with: headless, nothing that phones home or updates itself. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8" };

/** page is the front end: it imports the package and exposes it (and the API origin) to the test. */
function page(api: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Flowxi front end (journey)</title>
<link rel="icon" href="data:,">
<script type="importmap">{ "imports": { "openapi-fetch": "/vendor/openapi-fetch.mjs" } }</script>
<script type="module">
  import * as flowxi from "/client/index.js";
  window.flowxi = flowxi;
  window.API = ${JSON.stringify(api)};
  document.body.dataset.ready = "1";
</script></head><body><h1>Flowxi</h1></body></html>`;
}

/** servePage starts the front end's origin on a free loopback port and returns its URL. */
export async function servePage(clientDir: string, api: string): Promise<{ url: string; close(): Promise<void> }> {
  const files: Record<string, string> = { "/vendor/openapi-fetch.mjs": join(clientDir, "node_modules/openapi-fetch/dist/index.mjs") };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://page").pathname;
    if (path === "/") {
      res.writeHead(200, { "Content-Type": TYPES[".html"] ?? "" }).end(page(api));
      return;
    }
    let file = files[path];
    if (!file && path.startsWith("/client/")) file = join(clientDir, "dist", normalize(path.slice("/client/".length)).replace(/^(\.\.[/\\])+/, ""));
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = addr && typeof addr === "object" ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** Browser is one headless Chromium with a fresh profile, watching what its pages do. */
export class Browser {
  private readonly errors: string[] = [];
  private readonly pending: Promise<void>[] = [];
  /** Every answer of the API the pages received, checked against the spec (method, path, status). */
  readonly answers: string[] = [];

  private constructor(
    private readonly context: BrowserContext,
    private readonly profile: string,
    private readonly api: string,
    private readonly contract: Contract,
  ) {}

  /** launch starts Chromium with {@link CHROMIUM_FLAGS} and a fresh --user-data-dir. */
  static async launch(api: string, contract: Contract): Promise<Browser> {
    const profile = mkdtempSync(join(tmpdir(), "flowxi-chromium-"));
    // launchPersistentContext passes the fresh directory as --user-data-dir.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
    });
    return new Browser(context, profile, api, contract);
  }

  /** open returns a new tab on `url`, watched. */
  async open(url: string): Promise<Page> {
    const p = await this.context.newPage();
    p.on("console", (m) => {
      if (m.type() === "error") this.errors.push(`console error on ${p.url()}: ${m.text()}`);
    });
    p.on("pageerror", (e) => this.errors.push(`uncaught error on ${p.url()}: ${e.message}`));
    p.on("requestfailed", (r) => this.errors.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText ?? "?"}`));
    p.on("response", (r) => {
      if (r.url().startsWith(this.api)) this.pending.push(this.check(r));
    });
    await p.goto(url);
    return p;
  }

  private async check(r: Response): Promise<void> {
    const req = r.request();
    let body = "";
    if (r.status() !== 304 && req.method() !== "HEAD") {
      try {
        body = (await r.body()).toString("utf8");
      } catch (e) {
        this.errors.push(`${req.method()} ${r.url()}: body unreadable: ${String(e)}`);
      }
    }
    const answer = { method: req.method(), url: r.url(), status: r.status(), contentType: r.headers()["content-type"], body };
    this.answers.push(`${answer.method} ${new URL(answer.url).pathname} ${answer.status}`);
    for (const p of this.contract.check(answer)) this.errors.push(p);
  }

  /** problems waits for the answers in flight to be checked and returns (and clears) what went wrong. */
  async problems(): Promise<string[]> {
    await Promise.all(this.pending.splice(0));
    return this.errors.splice(0);
  }

  /** close stops Chromium and removes its profile. */
  async close(): Promise<void> {
    await this.context.close();
    rmSync(this.profile, { recursive: true, force: true });
  }
}
