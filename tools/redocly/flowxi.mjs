// Redocly CLI plugin with the Flowxi contract rules that built-in and configurable rules cannot
// express. Loaded by redocly.yaml (`plugins:`); rules are enabled there as `flowxi/<rule>`.

// A row of the Code description table: | CODE | HTTP | meaning |
const ROW = /^\|\s*([A-Z0-9_]+)\s*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|\s*$/;

/**
 * code-table: every value of the `Code` enum (components/schemas/Code) has a row in the table of
 * its description, with an HTTP status (100–599) and a meaning; the table names no code the enum
 * lacks, and no code twice. Clients and auditors read the table to know what each code means.
 */
function CodeTable() {
  return {
    Root: {
      enter(root, ctx) {
        const code = root?.components?.schemas?.Code;
        const where = ctx.location.child(["components", "schemas", "Code"]);
        if (!code) {
          ctx.report({ message: "components/schemas/Code (the enum of every machine code) is missing.", location: where });
          return;
        }
        const enumValues = Array.isArray(code.enum) ? code.enum : [];
        const rows = new Map();
        for (const line of String(code.description ?? "").split("\n")) {
          const m = ROW.exec(line.trim());
          if (!m || m[1] === "code") continue;
          const [, name, status, meaning] = m;
          if (rows.has(name)) {
            ctx.report({ message: `Code ${name} appears twice in the description table.`, location: where.child("description") });
          }
          rows.set(name, { status, meaning });
        }
        for (const name of enumValues) {
          const row = rows.get(name);
          if (!row) {
            ctx.report({ message: `Code ${name} has no row in the Code description table (| ${name} | HTTP status | meaning |).`, location: where.child("description") });
            continue;
          }
          const status = Number(row.status);
          if (!Number.isInteger(status) || status < 100 || status > 599) {
            ctx.report({ message: `Code ${name}: "${row.status}" is not an HTTP status in the description table.`, location: where.child("description") });
          }
          if (!row.meaning) {
            ctx.report({ message: `Code ${name} has no meaning in the description table.`, location: where.child("description") });
          }
        }
        for (const name of rows.keys()) {
          if (!enumValues.includes(name)) {
            ctx.report({ message: `The Code description table lists ${name}, which is not in the enum.`, location: where.child("enum") });
          }
        }
      },
    },
  };
}

export default function flowxiPlugin() {
  return {
    id: "flowxi",
    rules: {
      oas3: { "code-table": CodeTable },
    },
  };
}
