#!/usr/bin/env node
// The `infuse-breaker` binary. The exit status is set, not forced with process.exit(), so that
// output piped to another program is flushed before the process ends.
import { run } from './cli.js';

void run(process.argv.slice(2), process).then((status) => {
  process.exitCode = status;
});
