// infuse-breaker/testing: what a user needs to test their own code around a breaker without
// real waiting. Every public export, by name.
export { TestClock, type FakeTimers, type TestClockOptions } from './clock.js';
export { setCircuitState } from './state.js';
