#!/usr/bin/env node
// Checks the GraphQL examples of docs/api.md against schema/schema.graphql, without cargo.
//
// Every ```graphql fenced block is parsed and validated with graphql-js (`buildSchema`,
// `parse`, `validate`); the generated commands block is checked the same way. On top of
// graphql-js's own rules:
//
// - the custom scalars check their literals the way the server does (`UnsignedInt64` digits,
//   `Decimal`, `Date`, `DateTime`, `Fraction`, `Duration`), so `first: "5"` or
//   `fromDay: "15/11/2026"` fail here as they would on the server;
// - variables are checked against the operation: a ```json block right after the GraphQL
//   block (with nothing or one line `Variables…:` between), or the generated section's
//   "Variables: `{…}`" line; an operation with a required variable and no variables fails;
// - each operation's requested cost is computed with the server's rule (crates/tally-api/src/
//   schema/cost.rs: every field 1, `first`/`last` multiply their selection, a paged field
//   without them counts the page default 50) and must not exceed the default maximum 10 000;
//   its depth must not exceed 12, and no `first`/`last` may exceed the page size limit 500;
// - every ```json block must parse, and every `](#anchor)` link must name a heading;
// - every root field of Query and Subscription, and every Mutation field, must appear in at
//   least one example.
//
// A block preceded by the line `<!-- api-docs-check: skip -->` is not checked.
//
// Usage, from the repository root: node tools/api-docs/check.mjs [--verbose] [DOCS.md]
// (default docs/api.md; --verbose prints each operation's cost and depth).
// graphql-js is taken from tools/schema-lint/node_modules (run `npm ci` there first), or from
// NODE_PATH. Exits 1 listing every invalid block, 2 when the files or graphql-js are missing.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const schemaPath = path.join(root, 'schema', 'schema.graphql');
const argv = process.argv.slice(2);
const verbose = argv.includes('--verbose');
const docsPath = path.resolve(argv.find((a) => !a.startsWith('--')) ?? path.join(root, 'docs', 'api.md'));
const docsName = path.relative(root, docsPath);

const COST_MAX = 10_000; // ApiConfig::query_cost_max
const PAGE_DEFAULT = 50; // ApiConfig::page_size_default
const DEPTH_MAX = 12; // ApiConfig::limit_depth
const PAGE_MAX = 500; // ApiConfig::page_size_max

function loadGraphql() {
  // tools/schema-lint/node_modules first (its pinned version), then NODE_PATH (createRequire
  // resolves like CommonJS, which reads NODE_PATH; an ESM import would not).
  const anchors = [path.join(root, 'tools', 'schema-lint', 'package.json'), import.meta.url];
  for (const anchor of anchors) {
    try {
      return createRequire(anchor)('graphql');
    } catch {
      // try the next
    }
  }
  console.error(
    'check.mjs: cannot load graphql-js. Run `npm ci` in tools/schema-lint, or set NODE_PATH ' +
      'to a node_modules directory holding `graphql` (16.x).',
  );
  process.exit(2);
}

const g = loadGraphql();
const { Kind } = g;

function read(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    console.error(`check.mjs: cannot read ${path.relative(root, file)}: ${e.message}`);
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------------------------
// The schema, with the server's scalar rules.

function buildTallySchema(sdl) {
  let schema;
  try {
    schema = g.buildSchema(sdl);
  } catch (e) {
    // graphql-js before 16.9 does not know @oneOf; the SDL declares it, but be safe.
    if (!/oneOf/.test(String(e.message))) throw e;
    schema = g.buildSchema(`directive @oneOf on INPUT_OBJECT\n${sdl}`);
  }
  const U64_MAX = (1n << 64n) - 1n;
  const string = (check) => (value) => {
    if (typeof value !== 'string') throw new TypeError(`expected a string, got ${JSON.stringify(value)}`);
    const problem = check(value);
    if (problem) throw new TypeError(problem);
    return value;
  };
  const orInt = (check, intCheck) => (value) => {
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) throw new TypeError(`${value} is not an integer`);
      const problem = intCheck(value);
      if (problem) throw new TypeError(problem);
      return value;
    }
    return string(check)(value);
  };
  const digits = (v) => {
    if (!/^[0-9]+$/.test(v)) return `'${v}' is not an unsigned integer`;
    if (BigInt(v) > U64_MAX) return `'${v}' is above 2^64 - 1`;
    return null;
  };
  const decimal = (v) =>
    /^-?[0-9]+(\.[0-9]+)?$/.test(v) && v.length <= 64 ? null : `'${v}' is not a decimal number`;
  const date = (v) => {
    const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(v);
    if (!m) return `'${v}' is not a date YYYY-MM-DD`;
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3]
      ? null
      : `'${v}' is not a calendar day`;
  };
  const dateTime = (v) => {
    const m =
      /^([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$/.exec(
        v,
      );
    if (!m || date(m[1]) || +m[2] > 23 || +m[3] > 59 || +m[4] > 60) {
      return `'${v}' is not an RFC 3339 date-time`;
    }
    return null;
  };
  const fraction = (v) => {
    if (!/^[0-9](\.[0-9]{1,6})?$/.test(v)) return `'${v}' is not a decimal fraction with at most 6 decimals`;
    return /^(0(\.[0-9]+)?|1(\.0+)?)$/.test(v) ? null : `'${v}' is above 1`;
  };
  const duration = (v) =>
    /^-?PT[0-9]+(\.[0-9]{1,3})?S$/.test(v) ? null : `'${v}' is not a duration such as "PT90S"`;
  const rules = {
    UnsignedInt64: orInt(digits, (n) => (n < 0 ? `${n} is negative` : null)),
    Decimal: orInt(decimal, () => null),
    Date: string(date),
    DateTime: string(dateTime),
    Fraction: string(fraction),
    Duration: string(duration),
  };
  for (const [name, parseValue] of Object.entries(rules)) {
    const type = schema.getType(name);
    if (!type || !g.isScalarType(type)) {
      throw new Error(`the schema has no scalar ${name}: update tools/api-docs/check.mjs`);
    }
    type.parseValue = parseValue;
    type.parseLiteral = (node, variables) => parseValue(g.valueFromASTUntyped(node, variables));
  }
  return schema;
}

// ---------------------------------------------------------------------------------------------
// The blocks of the Markdown file.

function blocks(markdown) {
  const lines = markdown.split('\n');
  const out = [];
  let generated = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('<!-- commands:begin')) generated = true;
    if (line.startsWith('<!-- commands:end')) generated = false;
    const open = /^(\s*)(`{3,}|~{3,})\s*([A-Za-z0-9_+-]*)/.exec(line);
    if (!open) continue;
    const fence = open[2];
    const lang = open[3].toLowerCase();
    const start = i;
    const body = [];
    i++;
    while (i < lines.length && !lines[i].trimStart().startsWith(fence)) {
      body.push(lines[i]);
      i++;
    }
    let before = start - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const skip = before >= 0 && lines[before].trim() === '<!-- api-docs-check: skip -->';
    out.push({ lang, line: start + 1, end: i + 1, text: body.join('\n'), generated, skip });
  }
  // Variables: a ```json block right after a graphql block, or the generated "Variables:" line.
  for (let k = 0; k < out.length; k++) {
    const b = out[k];
    if (b.lang !== 'graphql') continue;
    const next = out[k + 1];
    const gap = lines.slice(b.end, next ? next.line - 1 : b.end).map((l) => l.trim());
    const gapOk = gap.every((l) => l === '' || /^variables\b[^`]*:$/i.test(l));
    if (next && next.lang === 'json' && gapOk) {
      b.variables = { line: next.line, text: next.text };
      next.isVariables = true;
      continue;
    }
    for (let j = b.end; j < Math.min(lines.length, b.end + 4); j++) {
      const m = /^Variables: `(.*)`\s*$/.exec(lines[j]);
      if (m) {
        b.variables = { line: j + 1, text: m[1] };
        break;
      }
      if (lines[j].startsWith('```')) break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Cost and depth, as the server measures them.

function fieldDefs(schema, typeName) {
  const type = typeName && schema.getType(typeName);
  return type && (g.isObjectType(type) || g.isInterfaceType(type)) ? type.getFields() : null;
}

function intValue(node, variables) {
  if (!node) return null;
  if (node.kind === Kind.INT) return Math.max(0, Number(node.value));
  if (node.kind === Kind.VARIABLE) {
    const v = variables[node.name.value];
    return typeof v === 'number' && Number.isInteger(v) ? Math.max(0, v) : null;
  }
  return null;
}

function measure(schema, document, operation, variables) {
  const fragments = new Map();
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  }
  const memo = new Map();
  let page = 0;
  const root = schema.getRootType(operation.operation);
  function cost(set, parent) {
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const def = fieldDefs(schema, parent)?.[sel.name.value];
        const given = ['first', 'last']
          .map((n) => intValue(sel.arguments?.find((a) => a.name.value === n)?.value, variables))
          .filter((n) => n !== null);
        let multiplier = 1;
        if (given.length) {
          multiplier = Math.max(...given);
          page = Math.max(page, multiplier);
        } else if (def && def.args.some((a) => a.name === 'first' || a.name === 'last')) {
          const defaults = def.args
            .filter((a) => (a.name === 'first' || a.name === 'last') && Number.isInteger(a.defaultValue))
            .map((a) => a.defaultValue);
          multiplier = defaults.length ? Math.max(...defaults) : PAGE_DEFAULT;
        }
        const child = sel.selectionSet ? cost(sel.selectionSet, def && g.getNamedType(def.type).name) : 0;
        total += 1 + multiplier * child;
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        total += cost(sel.selectionSet, sel.typeCondition ? sel.typeCondition.name.value : parent);
      } else {
        const name = sel.name.value;
        if (memo.has(name)) total += memo.get(name) ?? 0;
        else if (fragments.has(name)) {
          memo.set(name, null);
          const f = fragments.get(name);
          const c = cost(f.selectionSet, f.typeCondition.name.value);
          memo.set(name, c);
          total += c;
        }
      }
    }
    return total;
  }
  function depth(set, seen = new Set()) {
    let max = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        max = Math.max(max, 1 + (sel.selectionSet ? depth(sel.selectionSet, seen) : 0));
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        max = Math.max(max, depth(sel.selectionSet, seen));
      } else if (fragments.has(sel.name.value) && !seen.has(sel.name.value)) {
        const inner = new Set(seen).add(sel.name.value);
        max = Math.max(max, depth(fragments.get(sel.name.value).selectionSet, inner));
      }
    }
    return max;
  }
  return { cost: cost(operation.selectionSet, root.name), depth: depth(operation.selectionSet), page };
}

function rootFields(document, operation) {
  const fragments = new Map();
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  }
  const out = new Set();
  const walk = (set, seen) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) out.add(sel.name.value);
      else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet, seen);
      else if (fragments.has(sel.name.value) && !seen.has(sel.name.value)) {
        walk(fragments.get(sel.name.value).selectionSet, new Set(seen).add(sel.name.value));
      }
    }
  };
  walk(operation.selectionSet, new Set());
  return out;
}

// ---------------------------------------------------------------------------------------------

const schema = buildTallySchema(read(schemaPath));
const all = blocks(read(docsPath));
const failures = [];
const used = { query: new Set(), mutation: new Set(), subscription: new Set() };
let checked = 0;
let checkedGenerated = 0;

for (const b of all) {
  const where = `${docsName}:${b.line}${b.generated ? ' (generated commands block)' : ''}`;
  if (b.skip) continue;
  if (b.lang === 'json' && !b.isVariables) {
    try {
      JSON.parse(b.text);
    } catch (e) {
      failures.push({ where, errors: [`JSON does not parse: ${e.message}`] });
    }
    continue;
  }
  if (b.lang !== 'graphql') continue;
  if (b.generated) checkedGenerated++;
  else checked++;
  const errors = [];
  let document;
  try {
    document = g.parse(b.text);
  } catch (e) {
    failures.push({ where, errors: [`does not parse: ${e.message}`] });
    continue;
  }
  for (const e of g.validate(schema, document)) {
    const at = e.locations?.[0] ? ` (block line ${e.locations[0].line})` : '';
    errors.push(`${e.message}${at}`);
  }
  let variables = {};
  if (b.variables) {
    try {
      variables = JSON.parse(b.variables.text);
    } catch (e) {
      errors.push(`variables at line ${b.variables.line} do not parse: ${e.message}`);
    }
  }
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  for (const op of operations) {
    const name = op.name ? op.name.value : '(anonymous)';
    const defs = op.variableDefinitions ?? [];
    if (defs.length > 0) {
      const required = defs.filter((d) => d.type.kind === Kind.NON_NULL_TYPE && !d.defaultValue);
      if (!b.variables && required.length > 0) {
        errors.push(`operation ${name} needs variables (${required.map((d) => '$' + d.variable.name.value).join(', ')}) and no variables block follows it`);
      } else {
        const coerced = g.getVariableValues(schema, defs, variables, { maxErrors: 50 });
        for (const e of coerced.errors ?? []) errors.push(`variables: ${e.message}`);
      }
    }
    const rootType = schema.getRootType(op.operation);
    if (rootType) for (const f of rootFields(document, op)) used[op.operation].add(f);
    if (errors.length === 0) {
      const { cost, depth, page } = measure(schema, document, op, variables);
      if (verbose) console.log(`${where}: ${op.operation} ${name}: cost ${cost}, depth ${depth}`);
      if (cost > COST_MAX) errors.push(`operation ${name}: requested cost ${cost} is over the maximum ${COST_MAX}`);
      if (page > PAGE_MAX) errors.push(`operation ${name}: a page of ${page} is over the page size limit ${PAGE_MAX}`);
      if (depth > DEPTH_MAX) errors.push(`operation ${name}: depth ${depth} is over the limit ${DEPTH_MAX}`);
    }
  }
  if (errors.length) failures.push({ where, errors });
}

// Internal links: every `](#anchor)` must name a heading (GitHub's slugs).
{
  const text = read(docsPath);
  const slugs = new Map();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*(`{3,}|~{3,})/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = slugs.get(base) ?? 0;
    slugs.set(base, n + 1);
    if (n > 0) slugs.set(`${base}-${n}`, 1);
  }
  const broken = [...text.matchAll(/\]\(#([^)]+)\)/g)]
    .map((m) => m[1])
    .filter((anchor) => !slugs.has(anchor));
  if (broken.length) {
    failures.push({ where: docsName, errors: [`links to no heading: ${[...new Set(broken)].map((a) => '#' + a).join(', ')}`] });
  }
}

const missing = [];
for (const [op, type] of [
  ['query', schema.getQueryType()],
  ['mutation', schema.getMutationType()],
  ['subscription', schema.getSubscriptionType()],
]) {
  for (const field of Object.keys(type?.getFields() ?? {})) {
    if (!used[op].has(field)) missing.push(`${type.name}.${field}`);
  }
}
if (missing.length) {
  failures.push({ where: docsName, errors: [`no example uses: ${missing.join(', ')}`] });
}

for (const f of failures) {
  console.log(`INVALID ${f.where}`);
  for (const e of f.errors) console.log(`  - ${e}`);
}
const summary =
  `${checked} GraphQL blocks written by hand and ${checkedGenerated} generated blocks checked ` +
  `against schema/schema.graphql`;
if (failures.length) {
  console.log(`api-docs check failed: ${failures.length} problem(s); ${summary}`);
  process.exit(1);
}
console.log(`api-docs check passed: ${summary}; every root field has an example`);
