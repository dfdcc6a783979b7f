/**
 * The built UI keeps re2js (≈150 kB, used only to check REGEX constraints as you type) out of the
 * entry chunk: it loads when a regex is first validated. Importing more of @switchyard/engine
 * than its operator list, or losing the engine's `sideEffects: false`, would pull it back in.
 * Reads packages/web/dist, which `npm test` builds first.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dist = join(import.meta.dirname, '..', 'dist');
// A class name re2js defines and nothing else in the UI does.
const RE2JS_MARKER = 'RE2JSSyntaxException';

describe('web bundle', () => {
  it('loads re2js lazily, not in the entry chunk', () => {
    expect(existsSync(join(dist, 'index.html')), 'packages/web/dist is missing: run `npm run build` first').toBe(true);
    const html = readFileSync(join(dist, 'index.html'), 'utf8');
    const entries = [...html.matchAll(/<script[^>]+src="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(readFileSync(join(dist, entry), 'utf8').includes(RE2JS_MARKER), `${entry} holds re2js`).toBe(false);
    const chunks = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));
    expect(chunks.some((f) => readFileSync(join(dist, 'assets', f), 'utf8').includes(RE2JS_MARKER)), 'no chunk holds re2js: is the marker still right?').toBe(true);
  });
});
