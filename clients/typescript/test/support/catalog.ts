/**
 * The message catalogues of the repository (locales/<lang>/*.json, merged), so the journey checks
 * that every message it receives is the one of its language.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Catalog maps a code to its message in one language. */
export type Catalog = Record<string, string>;

/** loadCatalog merges every flat JSON file of locales/<lang>. */
export function loadCatalog(root: string, lang: string): Catalog {
  const dir = join(root, "locales", lang);
  const out: Catalog = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".json")).sort()) {
    Object.assign(out, JSON.parse(readFileSync(join(dir, f), "utf8")) as Catalog);
  }
  return out;
}

/**
 * mailSubjects maps each e-mail template of locales/<lang>/mail to its subject, for the subjects
 * that take no parameters (a `{{` marks one): an e-mail's subject tells its language.
 */
export function mailSubjects(root: string, lang: string): Map<string, string> {
  const dir = join(root, "locales", lang, "mail");
  const out = new Map<string, string>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const f of names.filter((n) => n.endsWith(".subject.txt"))) {
    const subject = readFileSync(join(dir, f), "utf8").trim();
    if (!subject.includes("{{")) out.set(f.replace(/\.subject\.txt$/, ""), subject);
  }
  return out;
}
