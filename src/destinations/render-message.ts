import type { Alert } from '../domain/alert';
import { discordMentionMarkup, slackMentionMarkup } from '../routing/mentions';
import type { TemplateEngine } from '../templates/engine';
import type { RenderTarget } from '../templates/render-target';
import { sanitizeRendered } from '../templates/sanitize';
import { alertHostSet } from '../templates/links';
import type { FormatContext } from './types';
import { buildView } from './view';

const MENTION_MARKUP: Record<RenderTarget, (ctx: FormatContext) => string> = {
  slack: (ctx) => slackMentionMarkup(ctx.mentions),
  discord: (ctx) => discordMentionMarkup(ctx.mentions),
  console: () => '',
};

/**
 * The one path from alert to message content, shared by every destination: pick the template (minimal, else
 * route → destination → default), render it escaped for `target` (URLs in alert data defanged unless the route
 * says `defang: false`), then sanitise the result so only the route's mentions are live and links stay on the
 * alert's own hosts. Platform fitting follows in the destination.
 */
export function renderMessage(
  templates: TemplateEngine,
  target: RenderTarget,
  alert: Alert,
  ctx: FormatContext,
  destination: { name: string; template?: string },
): { value: Record<string, unknown>; warnings: string[] } {
  const candidates = ctx.minimal ? ['minimal'] : [ctx.template, destination.template, 'default'];
  const rendered = templates.render(candidates, target, buildView(alert, ctx, destination.name), { ...(ctx.trace ? { trace: ctx.trace } : {}), defang: ctx.defang !== false });
  const safe = sanitizeRendered(rendered.value, { target, allowedHosts: alertHostSet(alert), mentionMarkup: MENTION_MARKUP[target](ctx) });
  return { value: safe.value, warnings: [...rendered.warnings, ...safe.warnings] };
}
