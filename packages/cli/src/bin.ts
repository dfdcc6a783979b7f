#!/usr/bin/env node
import { main } from './program.js';

const code = await main(process.argv);
// On failure exit now, even if a half-started server left handles open (stderr is synchronous).
if (code !== 0) process.exit(code);
