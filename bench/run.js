#!/usr/bin/env node
// Runs every benchmark side by side with its peers in one run and writes bench/RESULTS.md.
// Usage: npm run bench [-- engine|http|propagation ...]   (default: all)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const suites = {
  engine: async () => (await import('./engine.js')).runEngineBench(),
  http: async () => (await import('./http.js')).runHttpBench(),
  guardian: async () => (await import('./guardian.js')).runGuardianBench(),
  propagation: async () => (await import('./propagation.js')).runPropagationBench(),
};
const TITLES = {
  engine: 'Engine: evaluations per second',
  http: 'HTTP: client and frontend API',
  guardian: 'Guardian (simulation)',
  propagation: 'Propagation: admin change to SDKs',
};
const wanted = process.argv.slice(2).filter((a) => a in suites);
const chosen = wanted.length ? wanted : Object.keys(suites);

const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}, Node ${process.version}`;
const results = { date: new Date().toISOString(), machine, suites: {} };
for (const name of chosen) {
  console.log(`\n== ${name} ==`);
  results.suites[name] = await suites[name]();
}

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'latest.json'), JSON.stringify(results, null, 2) + '\n');

const table = (rows) => {
  if (!rows?.length) return '_no rows_\n';
  const cols = Object.keys(rows[0]);
  const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2)) : String(v));
  return [`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(' | ')} |`)].join('\n') + '\n';
};

// Each suite owns one marked section of RESULTS.md; a run replaces only the sections it measured,
// so hand-written sections (e.g. the end-to-end rollout numbers) and other suites' results stay.
const section = (name, out) =>
  `<!-- bench:${name} -->\n## ${TITLES[name] ?? name}\n\nMeasured by \`npm run bench -- ${name}\` on ${results.date.slice(0, 10)}; ${machine}.\n\n` +
  `${table(Array.isArray(out) ? out : out.rows)}${out.notes ? `\n${out.notes}\n` : ''}<!-- /bench:${name} -->\n`;
const file = join(here, 'RESULTS.md');
let md = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\nShared, noisy machines: read the ratios, not the absolute numbers.\n';
for (const [name, out] of Object.entries(results.suites)) {
  const block = section(name, out);
  const re = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->\\n?`);
  md = re.test(md) ? md.replace(re, block) : `${md.trimEnd()}\n\n${block}`;
  console.log('\n' + block);
}
writeFileSync(file, md);
