/**
 * The client object: openapi-fetch over the generated `paths`, with a middleware that sends the
 * session's locale and bearer token on every request.
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema.js";

type Locale = components["schemas"]["Locale"];

/** Options of {@link createFlowxiClient}. */
export interface FlowxiClientOptions {
  /** Sent as `X-App-Locale` on every request; the server answers in that language. */
  locale?: Locale;
  /** Bearer token (`<id>|<secret>`) sent as `Authorization` until changed with `setToken`. */
  token?: string;
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof globalThis.fetch;
  /** Extra headers sent on every request (e.g. a fixed `User-Agent`). */
  headers?: Record<string, string>;
}

/** The openapi-fetch client plus the session state the middleware reads. */
export type FlowxiClient = Client<paths> & {
  /** Replaces (or with `undefined` clears) the bearer token. */
  setToken(token: string | undefined): void;
  /** The bearer token currently sent, if any. */
  token(): string | undefined;
  /** Changes the `X-App-Locale` sent from now on. */
  setLocale(locale: Locale | undefined): void;
};

/**
 * createFlowxiClient returns a typed client for the API at `baseUrl` (e.g. `http://127.0.0.1:8080`).
 * A middleware sets `X-App-Locale` and `Authorization: Bearer …` on every request, so callers only
 * pass what the operation itself needs.
 */
export function createFlowxiClient(baseUrl: string, opts: FlowxiClientOptions = {}): FlowxiClient {
  let token = opts.token;
  let locale = opts.locale;
  const client = createClient<paths>({
    baseUrl,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  });
  const session: Middleware = {
    onRequest({ request }) {
      if (locale) request.headers.set("X-App-Locale", locale);
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
  client.use(session);
  return Object.assign(client, {
    setToken(t: string | undefined) {
      token = t;
    },
    token: () => token,
    setLocale(l: Locale | undefined) {
      locale = l;
    },
  });
}

