import type { Alert } from '../domain/alert';
import { contextFacts, type Fact } from '../templates/context-facts';
import type { FormatContext } from './types';
import type { MentionConfig } from '../routing/mentions';
import { SOURCE_LABELS } from '../templates/presentation';

/** What every template sees. Field names here are part of the template contract: only add, never rename. */
export interface TemplateView {
  alert: Alert;
  /** Display name of the alert's source, e.g. "Panther". */
  sourceLabel: string;
  /** Text of the `alert.link` button: the source's own label ("Generator") or "View in <sourceLabel>". */
  linkLabel: string;
  route: string;
  destination: string;
  /** alertContext flattened to at most 10 dotted-key facts. */
  facts: Fact[];
  /** The route's mentions for this alert (config, not alert data); rendered by the `mention` helper. */
  mentions?: MentionConfig;
}

export function buildView(alert: Alert, ctx: FormatContext, destination: string): TemplateView {
  return {
    alert,
    sourceLabel: SOURCE_LABELS[alert.source] ?? alert.source,
    linkLabel: alert.linkLabel ?? `View in ${SOURCE_LABELS[alert.source] ?? alert.source}`,
    route: ctx.route,
    destination,
    facts: contextFacts(alert.context, 10, 300),
    ...(ctx.mentions ? { mentions: ctx.mentions } : {}),
  };
}
