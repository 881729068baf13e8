/**
 * Routing across sources: match.source, match.labels (equality, anchored regex), config validation of the new
 * keys with line numbers, and regexes that stay fast on hostile label values.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfigText } from '../src/config/load';
import { routeAlert, evaluateRoute } from '../src/routing/router';
import { labelMatches, labelRegexProblem, MAX_REGEX_INPUT } from '../src/routing/label-match';
import { parseAlertmanagerPayload } from '../src/sources/alertmanager';
import type { Alert } from '../src/domain/alert';

const amAlert = (labels: Record<string, string>): Alert => {
  const parsed = parseAlertmanagerPayload({ alerts: [{ labels, startsAt: '2025-01-01T00:00:00Z' }] });
  if (!parsed.ok) throw new Error('invalid');
  return parsed.alerts[0]!;
};

describe('label conditions', () => {
  it('equality and anchored regex; an absent label is ""', () => {
    expect(labelMatches('prod', 'prod')).toBe(true);
    expect(labelMatches('production', { regex: 'prod' })).toBe(false);
    expect(labelMatches('prod-eu', { regex: 'prod-.*' })).toBe(true);
    expect(labelMatches(undefined, { regex: '|none' })).toBe(true);
    expect(labelMatches(undefined, 'x')).toBe(false);
  });

  it('refuses catastrophic patterns and never runs a regex on an over-long value', () => {
    expect(labelRegexProblem('(a+)+$')).toMatch(/exponential/);
    expect(labelRegexProblem('([a-z]+)*x')).toMatch(/exponential/);
    expect(labelRegexProblem('(')).toMatch(/not a valid regular expression/);
    expect(labelRegexProblem('x'.repeat(600))).toMatch(/at most/);
    expect(labelRegexProblem('db-[0-9]+|cache-.*')).toBeNull();
    const started = Date.now();
    expect(labelMatches('a'.repeat(MAX_REGEX_INPUT + 1), { regex: 'a*' })).toBe(false);
    // A pattern that is fine in the config stays fast on a hostile value near the cap.
    expect(labelMatches(`${'a'.repeat(MAX_REGEX_INPUT - 1)}!`, { regex: '.*a.*a.*b' })).toBe(false);
    expect(Date.now() - started).toBeLessThan(200);
  });

  it('routes by source and labels; each condition is explained', () => {
    const routes = [
      { name: 'am-payments', match: { source: ['alertmanager'], labels: { team: 'payments', env: { regex: 'prod|staging' } } }, to: ['a'] },
      { name: 'rest', to: ['b'] },
    ];
    expect(routeAlert(amAlert({ alertname: 'X', team: 'payments', env: 'prod' }), routes).map((t) => t.route)).toEqual(['am-payments']);
    expect(routeAlert(amAlert({ alertname: 'X', team: 'payments', env: 'production' }), routes).map((t) => t.route)).toEqual(['rest']);
    const explained = evaluateRoute(amAlert({ alertname: 'X', team: 'web' }), routes[0]!.match);
    expect(explained.map((c) => [c.condition, c.passed])).toEqual([['source', true], ['labels', false]]);
    expect(explained[1]!.detail).toContain('failed: team');
  });
});

describe('config of the label sources and routes', () => {
  it('reports every problem of the new keys with its line', () => {
    const text = fs.readFileSync(path.join(__dirname, 'fixtures', 'config', 'bad-label-sources.yaml'), 'utf8');
    const result = loadConfigText(text, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const lines = result.problems.map((p) => `${p.line} ${p.path}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        '3 sources.alertmanager.path',
        '4 sources.alertmanager.auth',
        '5 sources.alertmanager.severity.map.p1',
        '12 routes[0].match.source',
        '13 routes[0].match.labels.team.regex',
        '14 routes[0].onResolved',
      ]),
    );
  });

  it('defaults: paths, 4 MiB body limit, the severity map merged over the defaults, onResolved update', () => {
    const result = loadConfigText(
      `sources:\n  alertmanager: { auth: { bearer: ["t"] }, severity: { label: prio, map: { P1: CRITICAL } } }\n  grafana: { auth: { basic: [{ username: g, password: p }] } }\ndestinations: { c: { type: console } }\nroutes: [{ name: r, to: [c] }]\n`,
      {},
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.sources.alertmanager).toMatchObject({ path: '/webhooks/alertmanager', bodyLimitBytes: 4194304, severity: { label: 'prio', default: 'MEDIUM' } });
    expect(result.config.sources.alertmanager!.severity.map).toMatchObject({ p1: 'CRITICAL', critical: 'CRITICAL', warning: 'MEDIUM' });
    expect(result.config.sources.grafana!.path).toBe('/webhooks/grafana');
    expect(result.config.routes[0]!.onResolved).toBe('update');
  });
});
