import { routeAlert, type RouteSpec } from '../src/routing/router';
import type { Alert } from '../src/domain/alert';

const alert = (overrides: Partial<Alert> = {}): Alert => ({
  source: 'panther',
  dedupKey: 'k',
  alertId: 'a',
  detectionId: 'AWS.CloudTrail.RootLogin',
  detectionName: null,
  severity: 'HIGH',
  type: 'RULE',
  title: 't',
  description: null,
  runbook: null,
  link: 'https://x.example',
  tags: ['Production', 'AWS'],
  createdAt: '2024-01-01T00:00:00Z',
  createdAtMs: 0,
  version: null,
  context: {},
  ...overrides,
});

const routes: RouteSpec[] = [
  { name: 'page', match: { severity: { min: 'HIGH' }, tags: { any: ['production'], none: ['test'] }, type: ['RULE', 'POLICY'], detection: 'AWS.*' }, to: ['slack', 'discord'], continue: true },
  { name: 'crit-only', match: { severity: ['CRITICAL'] }, to: ['pager'] },
  { name: 'all-tags', match: { tags: { all: ['aws', 'production'] } }, to: ['aws-team', 'slack'] },
  { name: 'rest', to: ['lab'] },
];

describe('routeAlert', () => {
  it('walks routes in order, continuing only where continue is set, and never targets a destination twice', () => {
    expect(routeAlert(alert(), routes)).toEqual([
      { route: 'page', destination: 'slack' },
      { route: 'page', destination: 'discord' },
      { route: 'all-tags', destination: 'aws-team' },
    ]);
  });

  it('uses severity lists and minimums', () => {
    expect(routeAlert(alert({ severity: 'CRITICAL', tags: [] }), routes).map((t) => t.route)).toEqual(['crit-only']);
    expect(routeAlert(alert({ severity: 'MEDIUM', tags: [] }), routes).map((t) => t.route)).toEqual(['rest']);
  });

  it('compares tags case-insensitively and honours none', () => {
    expect(routeAlert(alert({ tags: ['PRODUCTION', 'Test'] }), routes)[0]?.route).toBe('rest');
    expect(routeAlert(alert({ tags: ['production'] }), routes)[0]?.route).toBe('page');
  });

  it('matches the detection glob and the type list', () => {
    expect(routeAlert(alert({ detectionId: 'GCP.Audit' }), routes)[0]?.route).toBe('all-tags');
    expect(routeAlert(alert({ type: 'RULE_ERROR' }), routes)[0]?.route).toBe('all-tags');
    expect(routeAlert(alert({ detectionId: 'AWSX' }), routes)[0]?.route).toBe('all-tags');
  });

  it('returns no targets when nothing matches', () => {
    expect(routeAlert(alert({ severity: 'LOW' }), routes.slice(0, 2))).toEqual([]);
  });

  it('carries the route template', () => {
    expect(routeAlert(alert(), [{ name: 'r', to: ['d'], template: 'page' }])).toEqual([{ route: 'r', destination: 'd', template: 'page' }]);
  });
});
