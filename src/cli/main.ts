#!/usr/bin/env node
// The `infuse-breaker` binary. It ends once its output is written rather than when nothing is
// left to do: a connection to a Redis that never answered may keep its socket open for seconds
// after the command gave up (--timeout), and the command must not outlive its bound.
import { run } from './cli.js';

void run(process.argv.slice(2), process).then((status) => {
  process.exitCode = status;
  process.stdout.write('', () => process.stderr.write('', () => process.exit()));
});
