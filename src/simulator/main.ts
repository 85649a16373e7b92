#!/usr/bin/env node
/** Standalone entry point: `node dist/simulator/main.js [flags]` (same as `pleo-export simulate`). */
import { simulateCommand } from './cli.js';

await simulateCommand().parseAsync(process.argv.slice(2), { from: 'user' });
