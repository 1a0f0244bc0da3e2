/**
 * Reading a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, in any of
 * the three date forms a recipient must accept. A pure function of the header and the time.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const LONG_DAY = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ([a-z]{3}) (\\d{4}) ${TIME} GMT$`, 'i');
/** `Sunday, 06-Nov-94 08:49:37 GMT` */
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-([a-z]{3})-(\\d{2}) ${TIME} GMT$`, 'i');
/** `Sun Nov  6 08:49:37 1994` */
const ASCTIME = new RegExp(`^${DAY} ([a-z]{3}) ([ \\d]\\d) ${TIME} (\\d{4})$`, 'i');
/** Any number of digits: a huge delay is bounded by `max` where it is used. */
const DELAY_SECONDS = /^\d+$/;

/**
 * Milliseconds from `now` (epoch ms) until the time `value` names, or `null` when the value is
 * malformed, names no time at all, or names a time that is not after `now`. Never throws.
 *
 * @example parseRetryAfter('120', now) // 120_000
 * @example parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT', now) // until then, or null if past
 */
export function parseRetryAfter(value: string, now: number): number | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (DELAY_SECONDS.test(text)) {
    const ms = Number(text) * 1000;
    return ms > 0 ? ms : null;
  }
  const at = httpDate(text, now);
  if (at === null) return null;
  const ms = at - now;
  return ms > 0 ? ms : null;
}

function httpDate(text: string, now: number): number | null {
  let match = IMF_FIXDATE.exec(text);
  if (match !== null) {
    const [, day, month, year, h, m, s] = match;
    return utc(Number(year), month, Number(day), h, m, s);
  }
  match = RFC850.exec(text);
  if (match !== null) {
    const [, day, month, yy, h, m, s] = match;
    // A two-digit year more than 50 years ahead is the most recent past year ending so.
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(yy);
    if (year > thisYear + 50) year -= 100;
    return utc(year, month, Number(day), h, m, s);
  }
  match = ASCTIME.exec(text);
  if (match !== null) {
    const [, month, day, h, m, s, year] = match;
    return utc(Number(year), month, Number(day), h, m, s);
  }
  return null;
}

function utc(
  year: number,
  monthName: string | undefined,
  day: number,
  ...clock: (string | undefined)[]
): number | null {
  const month = MONTHS.indexOf((monthName ?? '').toLowerCase());
  const [hours, minutes, seconds] = clock.map(Number) as [number, number, number];
  if (month < 0 || day < 1 || day > 31 || hours > 23 || minutes > 59 || seconds > 60) return null;
  const time = Date.UTC(year, month, day, hours, minutes, seconds);
  // Date.UTC rolls 31 Feb over into March: a date that does not exist is malformed.
  return new Date(time).getUTCDate() === day ? time : null;
}
