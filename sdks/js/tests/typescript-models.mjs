/**
 * Reads the SDK's models from src/models.ts (its interfaces and type aliases) so that the drift test
 * can compare them with the OpenAPI document. It understands the forms models.ts uses: interfaces with
 * type parameters and `extends`, one field a line; aliases of unions of string literals; aliases of a
 * generic interface applied to arguments.
 */
import { readFileSync } from "node:fs";

function stripComments(source) {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
}

function splitTopLevel(text, separator) {
  const parts = [];
  let depth = 0;
  let current = "";
  for (const char of text) {
    if ("<([{".includes(char)) depth++;
    if (">)]}".includes(char)) depth--;
    if (char === separator && depth === 0) {
      parts.push(current.trim());
      current = "";
    } else {
      current += char;
    }
  }
  if (current.trim() !== "") parts.push(current.trim());
  return parts;
}

/** `Name<A, B>` → {name, args}. */
function parseApplication(text) {
  const match = /^(\w+)(?:<(.*)>)?$/s.exec(text.trim());
  if (match === null) return null;
  return { name: match[1], args: match[2] === undefined ? [] : splitTopLevel(match[2], ",") };
}

export function readModels(path) {
  const source = stripComments(readFileSync(path, "utf8"));
  const interfaces = new Map();
  const aliases = new Map();

  const interfacePattern = /export interface (\w+)(?:<([^>]*)>)?(?:\s+extends\s+([^{]+))?\s*\{([^}]*)\}/g;
  for (const [, name, params, parents, body] of source.matchAll(interfacePattern)) {
    const fields = new Map();
    for (const line of body.split("\n")) {
      const field = /^\s*(\w+)(\??):\s*(.+?);\s*$/.exec(line);
      if (field) fields.set(field[1], { optional: field[2] === "?", type: field[3] });
    }
    interfaces.set(name, {
      params: params === undefined ? [] : splitTopLevel(params, ",").map((p) => p.split(/\s+extends\s+/)[0].trim()),
      parents: parents === undefined ? [] : splitTopLevel(parents, ",").map(parseApplication),
      fields,
    });
  }
  for (const [, name, definition] of source.matchAll(/export type (\w+)\s*=\s*([^;]+);/g)) {
    aliases.set(name, definition.replace(/\s+/g, " ").trim());
  }

  /** Every field of an interface or an alias of one, its parents' included, type parameters substituted. */
  function fields(name, args = []) {
    if (aliases.has(name)) {
      const application = parseApplication(aliases.get(name));
      if (application === null || !interfaces.has(application.name)) return null;
      return fields(application.name, application.args);
    }
    const declaration = interfaces.get(name);
    if (declaration === undefined) return null;
    const substitute = (type) => {
      const index = declaration.params.indexOf(type);
      return index === -1 ? type : args[index];
    };
    const all = new Map();
    for (const parent of declaration.parents) {
      for (const [field, info] of fields(parent.name, parent.args.map(substitute))) all.set(field, info);
    }
    for (const [field, info] of declaration.fields) all.set(field, { ...info, type: substitute(info.type) });
    return all;
  }

  /** The string literals of a union type, following aliases: `"A" | "B"` → ["A", "B"]. */
  function literals(type) {
    return splitTopLevel(type, "|").flatMap((member) => {
      const literal = /^"([^"]*)"$/.exec(member);
      if (literal) return [literal[1]];
      if (aliases.has(member)) return literals(aliases.get(member));
      return [];
    });
  }

  return {
    has: (name) => interfaces.has(name) || aliases.has(name),
    alias: (name) => aliases.get(name),
    application: (name) => (aliases.has(name) ? parseApplication(aliases.get(name)) : null),
    fields,
    literals,
  };
}
