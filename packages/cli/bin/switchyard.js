#!/usr/bin/env node
// The `switchyard` command as npm links it. This file is committed (dist/ is build output) so
// that `npm ci` can link the bin on a fresh clone before `npm run build` has created dist/.
import { existsSync } from 'node:fs';

const target = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(target)) {
  process.stderr.write('error: the switchyard CLI is not built yet; run `npm run build` first.\n');
  process.exit(1);
}
await import(target.href);
