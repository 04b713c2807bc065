/**
 * Starts the real flowxi binary for the journey (built by scripts/journey.sh) on a free port, with
 * the database, Redis prefix and SMTP server of this run, and stops it afterwards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createServer } from "node:net";

/** A running server. */
export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

/** freePort asks the kernel for an unused loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = addr && typeof addr === "object" ? addr.port : 0;
      s.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the journey through scripts/journey.sh (make test)`);
  return v;
}

/**
 * startServer runs `flowxi serve` and resolves once GET /api/v1/health answers 200; `env` adds or
 * overrides settings (the browser journey sets CORS_ORIGINS); `apiPort` chooses the port.
 */
export async function startServer(smtpPort: number, env: Record<string, string> = {}, apiPort?: number): Promise<RunningServer> {
  const [port, metricsPort] = [apiPort ?? (await freePort()), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const logPath = need("JOURNEY_SERVER_LOG");
  const log = createWriteStream(logPath, { flags: "a" });
  const child: ChildProcess = spawn(need("FLOWXI_BIN"), ["serve"], {
    env: {
      PATH: process.env.PATH ?? "",
      FLOWXI_ENV: "development",
      HTTP_ADDR: `127.0.0.1:${port}`,
      METRICS_ADDR: `127.0.0.1:${metricsPort}`,
      PUBLIC_URL: url,
      DATABASE_URL: need("JOURNEY_DATABASE_URL"),
      REDIS_URL: need("REDIS_URL"),
      REDIS_PREFIX: need("JOURNEY_REDIS_PREFIX"),
      FLOWXI_DATA_DIR: need("JOURNEY_DATA_DIR"),
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}?tls=none`,
      MAIL_FROM: "Flowxi <no-reply@flowxi.test>",
      FRONTEND_URL: "http://localhost:3000",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let exited: string | undefined;
  const done = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = `exited (code ${code}, signal ${signal})`;
      resolve();
    }),
  );

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`flowxi ${exited} before answering; see ${logPath}`);
    try {
      const res = await fetch(`${url}/api/v1/health`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`flowxi did not become healthy within 60 s; see ${logPath}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 25_000);
        await done;
        clearTimeout(timer);
      }
      log.end();
    },
  };
}
