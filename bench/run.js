#!/usr/bin/env node
// Runs every benchmark side by side with its peers in one run and writes bench/RESULTS.md.
// Usage: npm run bench [-- engine|http|propagation ...]   (default: all)
import { writeFileSync, mkdirSync } from 'node:fs';
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
let md = `# Benchmark results\n\nMeasured by \`npm run bench\` on ${results.date.slice(0, 10)}.\nMachine: ${machine}.\nShared, noisy machines: read the ratios, not the absolute numbers.\n`;
for (const [name, rows] of Object.entries(results.suites)) md += `\n## ${name}\n\n${table(Array.isArray(rows) ? rows : rows.rows)}${rows.notes ? `\n${rows.notes}\n` : ''}`;
if (chosen.length === Object.keys(suites).length) writeFileSync(join(here, 'RESULTS.md'), md);
console.log('\n' + md);
