/**
 * Checks an HTTP answer against openapi.yaml, as testkit does for the Go tests: the operation is
 * found by method and path, the status must be documented (or covered by `default`), the media type
 * must be one of that response's, a JSON body must match its schema (Ajv over the spec's own schemas,
 * OpenAPI 3.0 `nullable` included), and its `code` must be one the spec allows for that operation
 * and status (the generated table of src/operations.ts). Used by the browser journey on every answer
 * the page receives from the API.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { parse } from "yaml";

import { operationTable, type OperationId } from "../../src/index.js";

type Node = Record<string, unknown>;
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

/** An answer as a browser saw it. */
export interface Answer {
  method: string;
  url: string;
  status: number;
  contentType: string | undefined;
  body: string;
}

/** toJsonSchema rewrites OpenAPI 3.0 schema dialect into what Ajv reads: refs into the added document, `nullable`. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== "object") return node;
  const out: Node = {};
  for (const [k, v] of Object.entries(node as Node)) {
    if (k === "$ref" && typeof v === "string" && v.startsWith("#/")) out[k] = `openapi.json${v}`;
    else if (k === "example" || k === "examples" || k.startsWith("x-")) continue;
    else out[k] = toJsonSchema(v);
  }
  if (out.nullable === true) {
    delete out.nullable;
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return { anyOf: [out, { type: "null" }] };
  }
  return out;
}

/** Contract validates answers against one openapi.yaml. */
export class Contract {
  readonly spec: Node;
  private readonly ajv = new Ajv({ strict: false, allErrors: false, validateFormats: true });
  private readonly routes: { re: RegExp; params: number; method: string; op: Node; path: string }[] = [];
  private readonly compiled = new Map<unknown, ValidateFunction>();

  constructor(root: string) {
    this.spec = parse(readFileSync(join(root, "openapi.yaml"), "utf8")) as Node;
    addFormats.default(this.ajv);
    for (const f of ["int32", "int64", "binary", "byte", "password"]) this.ajv.addFormat(f, true);
    this.ajv.addSchema(toJsonSchema({ components: this.spec.components }) as Node, "openapi.json");
    for (const [path, item] of Object.entries(this.spec.paths as Record<string, Node>)) {
      const re = new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`);
      for (const method of METHODS) {
        if (item[method]) this.routes.push({ re, params: (path.match(/\{/g) ?? []).length, method: method.toUpperCase(), op: item[method] as Node, path });
      }
    }
    this.routes.sort((a, b) => a.params - b.params);
  }

  /** operations lists every operation of the spec: operationId, first tag, summary. */
  operations(): { id: string; tag: string; summary: string }[] {
    return this.routes.map((r) => ({ id: String(r.op.operationId), tag: String((r.op.tags as string[] | undefined)?.[0] ?? ""), summary: String(r.op.summary ?? "") }));
  }

  private deref(node: unknown): Node {
    let n = node as Node;
    while (n && typeof n.$ref === "string") {
      n = (n.$ref as string).slice(2).split("/").reduce<Node>((o, k) => o[k.replace(/~1/g, "/").replace(/~0/g, "~")] as Node, this.spec);
    }
    return n;
  }

  private validator(schema: unknown): ValidateFunction {
    let v = this.compiled.get(schema);
    if (!v) {
      v = this.ajv.compile(toJsonSchema(schema) as Node);
      this.compiled.set(schema, v);
    }
    return v;
  }

  /** check returns what is wrong with an answer (an empty list when the spec describes it). */
  check(a: Answer): string[] {
    const path = new URL(a.url).pathname;
    const route = this.routes.find((r) => r.method === a.method && r.re.test(path));
    const where = `${a.method} ${path} → ${a.status}`;
    if (!route) return [`${where}: no operation of the spec has this method and path`];
    const responses = route.op.responses as Record<string, unknown>;
    const key = String(a.status) in responses ? String(a.status) : "default";
    if (!(key in responses) || (key === "default" && a.status < 400)) return [`${where}: status not documented for ${String(route.op.operationId)}`];
    const res = this.deref(responses[key]);
    const content = (res.content ?? {}) as Record<string, { schema?: unknown }>;
    const media = (a.contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    if (Object.keys(content).length === 0) return a.body.length === 0 || a.status === 304 ? [] : [`${where}: a body where the spec documents none`];
    if (!(media in content)) return [`${where}: Content-Type ${a.contentType ?? "(none)"} is not one of ${Object.keys(content).join(", ")}`];
    if (media !== "application/json") return [];
    let body: unknown;
    try {
      body = JSON.parse(a.body);
    } catch {
      return [`${where}: the body is not JSON`];
    }
    const validate = this.validator(content[media]?.schema);
    if (!validate(body)) return [`${where}: body does not match its schema: ${this.ajv.errorsText(validate.errors)}`];
    const code = body && typeof body === "object" ? (body as { code?: unknown }).code : undefined;
    const table = operationTable[route.op.operationId as OperationId]?.codes as Record<string, readonly string[]> | undefined;
    const allowed = table?.[key];
    if (code !== undefined && allowed && !allowed.includes(String(code))) {
      return [`${where}: code ${String(code)} is not one the spec allows here (${allowed.join(", ")})`];
    }
    return [];
  }
}
