/**
 * What tells an alert of Grafana's legacy dashboard alerting apart, in a module of its own: the triage policy and
 * the silence service ask it of every alert they render or silence, and must not load the payload parsers (zod and
 * the source schemas) into a thread that only delivers.
 */
import type { Alert } from '../domain/alert';

/** The link label of a legacy dashboard alert (its rule), which also tells such an alert apart. */
export const LEGACY_LINK_LABEL = 'Alert rule';

/**
 * True for an alert of Grafana's legacy dashboard alerting (≤ Grafana 10): no Alertmanager stands behind it, so it
 * cannot be silenced through one.
 */
export const isLegacyGrafanaAlert = (alert: Pick<Alert, 'source' | 'linkLabel'>): boolean => alert.source === 'grafana' && alert.linkLabel === LEGACY_LINK_LABEL;
