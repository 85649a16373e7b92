#!/usr/bin/env node
/** The `pleo-export` executable. */
import { processIo } from './output.js';
import { runCli } from './program.js';

process.removeAllListeners('warning');
process.on('warning', (warning) => {
  // node:sqlite is stable in practice but still flagged experimental on Node 22.
  if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

const code = await runCli(process.argv.slice(2), processIo);
process.exitCode = code;
