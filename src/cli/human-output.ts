/**
 * `doctor` and `send-test` for people: one line per check or destination, the fix indented under a failure, a
 * summary last. JSON stays the answer for scripts: with `--json`, or whenever stdout is not a terminal (a pipe, a
 * file, CI), so `chatops-bridge doctor | jq` keeps working unchanged.
 */
import type { DoctorCheck } from './doctor-command';
import type { SendTestResult } from './send-test-command';

/** JSON when asked for, or when nobody is reading stdout on a terminal. */
export function wantsJson(jsonFlag: boolean | undefined, stdoutIsTTY: boolean | undefined): boolean {
  return jsonFlag === true || stdoutIsTTY !== true;
}

const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));

/**
 * Readable doctor report: `ok   slack token   team T, bot b` / `warn …` / `FAIL …` with `fix:` below a failure or a
 * warning, then a summary.
 */
export function formatDoctorText(checks: readonly DoctorCheck[]): string {
  const width = Math.max(...checks.map((c) => c.check.length));
  const lines = checks.flatMap((c) => [
    `${c.ok ? (c.warn ? 'warn' : 'ok  ') : 'FAIL'}  ${pad(c.check, width)}${c.detail ? `  ${c.detail}` : ''}`.trimEnd(),
    ...(c.fix && (!c.ok || c.warn) ? [`      fix: ${c.fix}`] : []),
  ]);
  const failed = checks.filter((c) => !c.ok).length;
  const warned = checks.filter((c) => c.ok && c.warn).length;
  const warnings = warned > 0 ? ` (${warned} with a warning)` : '';
  lines.push('', failed === 0 ? `all ${checks.length} checks passed${warnings}` : `${failed} of ${checks.length} checks failed${warnings}`);
  return `${lines.join('\n')}\n`;
}

/** Readable send-test report: one line per destination (where the message went, or why not), fix below. */
export function formatSendTestText(results: readonly SendTestResult[]): string {
  const width = Math.max(...results.map((r) => r.destination.length));
  const lines = results.flatMap((r) => {
    if (r.outcome === 'delivered') {
      const where = Object.entries(r.ref ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
      return [`ok    ${pad(r.destination, width)}  delivered${where ? ` (${where})` : ''}`];
    }
    const why = r.outcome === 'retryable' ? `${r.reason ?? 'failed'} (temporary: the outbox would retry)` : r.outcome === 'permanent' ? `${r.reason ?? 'failed'} (permanent)` : `${r.outcome}${r.reason ? `: ${r.reason}` : ''}`;
    return [`FAIL  ${pad(r.destination, width)}  ${why}`, ...(r.fix ? [`      fix: ${r.fix}`] : [])];
  });
  const failed = results.filter((r) => r.outcome !== 'delivered').length;
  const one = results.length === 1;
  lines.push('', failed === 0 ? (one ? 'the destination delivered the test alert' : `all ${results.length} destinations delivered the test alert`) : one ? 'the destination failed' : `${failed} of ${results.length} destinations failed`);
  return `${lines.join('\n')}\n`;
}
