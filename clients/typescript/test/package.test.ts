/**
 * The client as an app installs it: `npm pack` makes the tarball, a fresh project installs it offline
 * (with the tarballs of its runtime dependencies, packed from this folder's node_modules, and an empty
 * npm cache), imports it from Node, and type-checks a caller with the client's own TypeScript. A
 * caller that misspells a success code must fail `tsc`. Also: the package's version is the contract's
 * `info.version`, and every operation of openapi.yaml has its typed call and, when it pages, its
 * paging entry.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { parse } from "yaml";

import { operationTable, specVersion } from "../src/index.js";

const client = fileURLToPath(new URL("../../", import.meta.url)); // build/test/ → clients/typescript/
const root = join(client, "../..");
const spec = parse(readFileSync(join(root, "openapi.yaml"), "utf8")) as {
  info: { version: string };
  paths: Record<string, Record<string, { operationId?: string; parameters?: { name?: string; in?: string; $ref?: string }[] }>>;
  components: { parameters?: Record<string, { name: string; in: string }> };
};
const pkg = JSON.parse(readFileSync(join(client, "package.json"), "utf8")) as { name: string; version: string };
const tsc = join(client, "node_modules/typescript/bin/tsc");

describe("package", () => {
  it("has the contract's version", () => {
    assert.equal(pkg.version, spec.info.version, "package.json version = openapi.yaml info.version");
    assert.equal(specVersion, spec.info.version, "src/operations.ts is generated from this openapi.yaml");
  });

  it("has a typed call for every operation of the spec, and pages every paged list", () => {
    const methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
    const seen = new Set<string>();
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const m of methods) {
        const op = item[m];
        if (!op?.operationId) continue;
        seen.add(op.operationId);
        const entry = (operationTable as Record<string, { method: string; path: string; paged: unknown }>)[op.operationId];
        assert.ok(entry, `${op.operationId} has no typed call`);
        assert.equal(entry.method, m.toUpperCase(), op.operationId);
        assert.equal(entry.path, path, op.operationId);
        const params = (op.parameters ?? []).map((p) => (p.$ref ? spec.components.parameters?.[p.$ref.split("/").pop() ?? ""] : p));
        const cursor = params.some((p) => p?.in === "query" && (p.name === "cursor" || p.name === "after"));
        assert.equal(entry.paged !== null, cursor, `${op.operationId}: paged exactly when it takes a cursor`);
      }
    }
    assert.deepEqual(Object.keys(operationTable).sort(), [...seen].sort());
  });

  describe("npm pack, installed offline into a fresh project", () => {
    const work = mkdtempSync(join(tmpdir(), "flowxi-client-pack-"));
    after(() => rmSync(work, { recursive: true, force: true }));
    const npm = (cwd: string, ...args: string[]) =>
      execFileSync("npm", [...args, "--no-audit", "--no-fund", "--cache", join(work, "npm-cache"), "--offline"], {
        cwd,
        encoding: "utf8",
        env: { ...process.env, npm_config_update_notifier: "false" },
      });
    const app = join(work, "app");
    const typecheck = () =>
      spawnSync(process.execPath, [tsc, "-p", join(app, "tsconfig.json")], { cwd: app, encoding: "utf8" });

    it("installs from the tarball and its types compile", { timeout: 300_000 }, () => {
      const tarballs = join(work, "tarballs");
      mkdirSync(tarballs);
      // The client's tarball (dist/ as `npm run build` left it: scripts/journey.sh builds it first;
      // `npm pack` alone runs the build as its prepack), then its runtime dependencies from node_modules.
      assert.ok(existsSync(join(client, "dist/index.js")), "dist/ is built (npm run build)");
      npm(client, "pack", "--ignore-scripts", "--pack-destination", tarballs, "--silent");
      for (const dep of ["openapi-fetch", "openapi-typescript-helpers"]) npm(client, "pack", `./node_modules/${dep}`, "--pack-destination", tarballs, "--silent");
      const files = readdirSync(tarballs).map((f) => join(tarballs, f));
      assert.ok(files.some((f) => f.includes("flowxi-client-")), `the client's tarball: ${files.join(", ")}`);

      cpSync(join(client, "fixtures/app"), app, { recursive: true });
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "fresh-app", version: "0.0.0", private: true, type: "module" }));
      npm(app, "install", ...files);
      const installed = JSON.parse(readFileSync(join(app, "node_modules/@flowxi/client/package.json"), "utf8")) as { version: string };
      assert.equal(installed.version, pkg.version);

      const out = typecheck();
      assert.equal(out.status, 0, `tsc over the fresh project:\n${out.stdout}${out.stderr}`);
      // Built JavaScript, imported by its package name through `exports`.
      const run = spawnSync(process.execPath, ["--input-type=module", "-e", 'const m = await import("@flowxi/client"); console.log(m.specVersion, typeof m.call, typeof m.paginate, Object.keys(m.operationTable).length)'], { cwd: app, encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), `${pkg.version} function function ${Object.keys(operationTable).length}`);
    });

    it("refuses a misspelled success code at compile time", { timeout: 300_000 }, () => {
      writeFileSync(join(app, "typo.ts"), readFileSync(join(app, "typo.ts.txt"), "utf8"));
      try {
        const out = typecheck();
        assert.notEqual(out.status, 0, "tsc accepted r.code === \"LOGIN_SUCESS\"");
        assert.match(out.stdout, /typo\.ts\(\d+,\d+\): error TS2367: .*"LOGIN_SUCESS"/);
        // Nothing else is wrong: the only error is the misspelling.
        assert.equal(out.stdout.split("\n").filter((l) => l.includes("error TS")).length, 1, out.stdout);
      } finally {
        rmSync(join(app, "typo.ts"));
      }
    });
  });
});
