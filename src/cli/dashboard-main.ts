#!/usr/bin/env node
// Runs `infuse-breaker dashboard` on its own until the CLI's subcommand layer dispatches to it.
import { runDashboard } from './dashboard.js';

process.exitCode = await runDashboard(process.argv.slice(2));
