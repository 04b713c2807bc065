#!/usr/bin/env node
/**
 * Generates src/operations.ts from ../../openapi.yaml (run by `npm run gen`, hence `make generate`;
 * the output is committed and `make check-generate` fails when it drifts):
 *
 * - `specVersion`: the contract's `info.version` (the package's version must equal it: test/package.test.ts);
 * - `operationTable`: every operation by operationId with its method, path, the media types of its
 *   success responses, and, for the operations that page (a `cursor` or `after` query parameter and a
 *   `next_cursor` in the 200 body), where the items and the next cursor are in the body;
 * - for every operation and documented status, the `code`s the spec allows there: for a success, the
 *   codes of that response's examples (Redocly requires one per body, so every success has them); for
 *   an error status, the codes of the `Code` enum whose row in its table has that status (`default`:
 *   every 4xx/5xx code).
 *
 * The types of src/calls.ts (`Reply`, `CodeOf`, `PageItem`) read these tables, so a code the spec does
 * not allow at a status fails `tsc`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { parse } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const specPath = process.argv[2] ?? join(here, "../../../openapi.yaml");
const outPath = process.argv[3] ?? join(here, "../src/operations.ts");
const spec = parse(readFileSync(specPath, "utf8"));
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** deref follows a local `$ref` (`#/components/...`) until a value. */
function deref(node) {
  let n = node;
  while (n && typeof n === "object" && typeof n.$ref === "string") {
    n = n.$ref.slice(2).split("/").reduce((o, k) => o?.[k.replace(/~1/g, "/").replace(/~0/g, "~")], spec);
  }
  return n;
}

/** codeStatuses reads the `Code` enum's table: code → HTTP status. */
function codeStatuses() {
  const code = spec.components.schemas.Code;
  const statuses = new Map();
  for (const line of String(code.description ?? "").split("\n")) {
    const m = /^\|\s*([A-Z0-9_]+)\s*\|\s*(\d{3})\s*\|/.exec(line.trim());
    if (m) statuses.set(m[1], m[2]);
  }
  for (const c of code.enum) if (!statuses.has(c)) throw new Error(`Code ${c} has no row with its HTTP status`);
  return statuses;
}

/** exampleCodes collects the `code` of every example of a response (all media types). */
function exampleCodes(res) {
  const out = new Set();
  for (const media of Object.values(res.content ?? {})) {
    const values = [media.example, ...Object.values(media.examples ?? {}).map((e) => deref(e)?.value)];
    for (const v of values) if (v && typeof v === "object" && typeof v.code === "string") out.add(v.code);
  }
  return [...out].sort();
}

/** schemaProps returns the properties of an object schema (following refs and allOf). */
function schemaProps(schema) {
  const s = deref(schema);
  if (!s || typeof s !== "object") return {};
  const props = { ...(s.properties ?? {}) };
  for (const part of s.allOf ?? []) Object.assign(props, schemaProps(part));
  return props;
}

/** paging finds where a paged 200 body keeps its items and next cursor, or null. */
function paging(op, params, res) {
  const cursor = params.find((p) => p.in === "query" && (p.name === "cursor" || p.name === "after"));
  const schema = res?.content?.["application/json"]?.schema;
  if (!cursor || !schema) return null;
  const top = schemaProps(schema);
  if (top.next_cursor && deref(top.data)?.type === "array") {
    return { cursor: cursor.name, items: ["data"], next: ["next_cursor"], more: top.has_more ? ["has_more"] : null };
  }
  const inner = schemaProps(top.data);
  if (inner.next_cursor && deref(inner.items)?.type === "array") {
    return { cursor: cursor.name, items: ["data", "items"], next: ["data", "next_cursor"], more: null };
  }
  throw new Error(`${op.operationId}: a ${cursor.name} parameter but no next_cursor beside an item list`);
}

const statuses = codeStatuses();
const byStatus = new Map();
for (const [code, status] of statuses) {
  if (!byStatus.has(status)) byStatus.set(status, []);
  byStatus.get(status).push(code);
}
const errorStatus = (s) => s === "default" || Number(s) >= 400;
const listName = (s) => `status${s}`;
const used = new Set();
// The `default` answer of an operation carries the 4xx/5xx codes of the statuses it does not list.
const defaults = new Map();
function defaultList(listed) {
  const name = listed.length ? `otherThan${listed.join("_")}` : "anyError";
  if (!defaults.has(name)) {
    defaults.set(name, [...statuses].filter(([, s]) => Number(s) >= 400 && !listed.includes(s)).map(([c]) => c).sort());
  }
  return name;
}

const ops = [];
for (const [path, item] of Object.entries(spec.paths)) {
  for (const method of METHODS) {
    const op = item[method];
    if (!op) continue;
    const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map(deref);
    const responses = {};
    let media = [];
    for (const [status, raw] of Object.entries(op.responses)) {
      const res = deref(raw);
      if (/^2\d\d$/.test(status) && media.length === 0) media = Object.keys(res.content ?? {});
      if (status === "default") {
        responses[status] = defaultList(Object.keys(op.responses).filter((x) => Number(x) >= 400).sort());
      } else if (errorStatus(status)) {
        used.add(status);
        responses[status] = listName(status);
      } else {
        const codes = exampleCodes(res).filter((c) => statuses.get(c) === status);
        for (const c of exampleCodes(res)) {
          if (!statuses.has(c)) throw new Error(`${op.operationId} ${status}: example code ${c} is not in the Code enum`);
        }
        const hasCode = !!schemaProps(res.content?.["application/json"]?.schema).code;
        if (hasCode && codes.length === 0) throw new Error(`${op.operationId} ${status}: no example states its code`);
        responses[status] = JSON.stringify(codes);
      }
    }
    ops.push({
      id: op.operationId,
      method: method.toUpperCase(),
      path,
      summary: op.summary,
      media,
      responses,
      paged: paging(op, params, deref(op.responses["200"])),
    });
  }
}
ops.sort((a, b) => a.id.localeCompare(b.id));

const lines = [];
const w = (s = "") => lines.push(s);
w("// Generated by scripts/generate.mjs from openapi.yaml (`make generate`). Do not edit.");
w("/* eslint-disable */");
w("");
w(`/** The contract's \`info.version\`; the package's version is the same. */`);
w(`export const specVersion = ${JSON.stringify(String(spec.info.version))};`);
w("");
w("/**");
w(" * The codes of the \`Code\` enum by the HTTP status of their row; \`otherThan…\` (an operation's \`default\`");
w(" * answer): every 4xx/5xx code but those of the statuses the operation lists.");
w(" */");
w("export const codesByStatus = {");
for (const s of [...used].sort()) w(`  ${listName(s)}: ${JSON.stringify([...(byStatus.get(s) ?? [])].sort())},`);
for (const [name, list] of [...defaults].sort()) w(`  ${name}: ${JSON.stringify(list)},`);
w("} as const;");
w("");
w("/** Every operation of the spec: method, path, success media types, codes per status, paging. */");
w("export const operationTable = {");
for (const o of ops) {
  w(`  /** ${o.summary} */`);
  w(`  ${o.id}: {`);
  w(`    method: ${JSON.stringify(o.method)},`);
  w(`    path: ${JSON.stringify(o.path)},`);
  w(`    media: ${JSON.stringify(o.media)},`);
  const res = Object.entries(o.responses).map(([s, v]) => {
    const key = s === "default" ? "default" : s;
    return `${key}: ${v.startsWith("[") ? v : `codesByStatus.${v}`}`;
  });
  w(`    codes: { ${res.join(", ")} },`);
  w(`    paged: ${o.paged ? JSON.stringify(o.paged) : "null"},`);
  w("  },");
}
w("} as const;");
w("");
w("/** The operationIds of the spec. */");
w("export type OperationId = keyof typeof operationTable;");
w("");
w("/** The operations whose lists are paged by a cursor (walk them with `paginate`). */");
w(`export type PagedOperationId = ${ops.filter((o) => o.paged).map((o) => JSON.stringify(o.id)).join(" | ") || "never"};`);
w("");
writeFileSync(outPath, lines.join("\n"));
