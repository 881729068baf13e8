/**
 * AWSDateTime as Panther sends it: extended ISO 8601 date and time, seconds optional, 0–9 fractional digits,
 * zone offset compulsory (`Z`, `±hh:mm` or `±hh:mm:ss`).
 */
const AWS_DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-](\d{2}):(\d{2})(?::(\d{2}))?)$/;

/**
 * Parses an AWSDateTime and returns epoch milliseconds, or null when the text is malformed or names a day or
 * time that does not exist (2023-02-30, 25:00, offset hour 24).
 */
export function parseAwsDateTime(text: string): number | null {
  const m = AWS_DATETIME.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(9, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return null;
  let offsetMs = 0;
  if (m[8] !== 'Z') {
    const sign = m[8]!.startsWith('-') ? -1 : 1;
    const oh = Number(m[9]);
    const om = Number(m[10]);
    const os = m[11] === undefined ? 0 : Number(m[11]);
    if (oh > 23 || om > 59 || os > 59) return null;
    offsetMs = sign * ((oh * 60 + om) * 60 + os) * 1000;
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear keeps the year as written.
  const date = new Date(utc);
  date.setUTCFullYear(year);
  return date.getTime() - offsetMs;
}
