/**
 * The triage part of a message, added by the destination after the user's template rendered (so every
 * template gets it): a state line ("Acknowledged by @ana at 14:02 UTC", silence, thread counter, Panther sync
 * problem), where the platform's interactivity is configured the Acknowledge / Resolve / Assign buttons, and the
 * silence control of label-based sources (silence-render.ts).
 */
import { discordEscape, slackEscape } from '../templates/escape';
import { escalationLine } from '../escalation/line';
import { discordMentionMarkup } from '../routing/mentions';
import type { TriageRenderContext } from './policy';
import { silenceLines } from './silence';
import { addDiscordSilence, addSlackSilence } from './silence-render';
import { BUTTON_LABELS, buttonsFor, statusLabel, triageButtonId, triageLines, type TriageView } from './state';

type Obj = Record<string, unknown>;

/** Text lines of the state part, unescaped; empty when there is nothing to say (open, no replies). */
function stateLines(view: TriageView): string[] {
  const lines = triageLines(view);
  if (view.silence) lines.push(...silenceLines(view.silence));
  if (view.threadReplies > 0) lines.push(`${view.threadReplies} more in thread`);
  if (lines.length === 0) return [];
  return [statusLabel(view.status), ...lines];
}

/** The state lines with their headline also when only an escalation line follows it. */
function withHeadline(lines: string[], view: TriageView, escalation: boolean): string[] {
  return lines.length === 0 && escalation ? [statusLabel(view.status)] : lines;
}

/** Slack action ids of the triage buttons: `triage_<action>` (the value carries the delivery). */
export const SLACK_TRIAGE_ACTION_PREFIX = 'triage_';

/**
 * Appends the state context block and the buttons to a Slack body, and gives every block a new block_id for
 * this revision (Slack clients otherwise keep showing cached blocks after chat.update).
 */
export function addSlackTriage(body: Obj, t: TriageRenderContext, interactive: boolean): void {
  const blocks = Array.isArray(body.blocks) ? (body.blocks as unknown[]) : [];
  if (t.revision > 0) {
    for (const block of blocks) {
      if (block && typeof block === 'object' && typeof (block as Obj).block_id === 'string') (block as Obj).block_id = `${(block as Obj).block_id as string}.r${t.revision}`;
    }
  }
  // Slack cannot show a user group or user mention without notifying it: the targets are named by the label alone.
  const escalation = t.escalation ? escalationLine(t.escalation, t.view, t.escalation.policy.label ? slackEscape(t.escalation.policy.label) : '', slackEscape) : null;
  const lines = withHeadline(stateLines(t.view), t.view, escalation !== null);
  if (lines.length > 0) {
    const [headline, ...rest] = lines;
    const text = [...rest.map(slackEscape), ...(escalation ? [escalation] : [])].join('\n');
    blocks.push({
      type: 'context',
      block_id: `triage_state.r${t.revision}`,
      elements: [{ type: 'mrkdwn', text: `*${slackEscape(headline!)}*\n${text}`, verbatim: true }],
    });
  }
  const buttons = interactive ? buttonsFor(t.view, t.buttons) : [];
  if (buttons.length > 0) {
    blocks.push({
      type: 'actions',
      block_id: `triage.r${t.revision}`,
      elements: buttons.map((action) => ({
        type: 'button',
        action_id: `${SLACK_TRIAGE_ACTION_PREFIX}${action}`,
        text: { type: 'plain_text', text: BUTTON_LABELS[action] },
        value: triageButtonId(action, t.deliveryId),
        ...(action === 'resolve' ? { style: 'primary' } : {}),
      })),
    });
  }
  addSlackSilence(blocks, t, interactive);
  body.blocks = blocks;
}

/** Slack's "good" green, as a Discord colour integer. */
export const RESOLVED_COLOR = 0x2eb67d;

const DISCORD_STYLE = { acknowledge: 1, resolve: 3, assign: 2 } as const;

/** Adds the state as the first embed's "Triage" field and the buttons as an action row of a Discord body. */
export function addDiscordTriage(body: Obj, t: TriageRenderContext, interactive: boolean): void {
  // Discord shows mentions inside an embed as the role's or user's name and never notifies for them: without a
  // label, the targets are named by their mention markup (ids from config only), rendered but silent.
  const e = t.escalation;
  const escalation = e ? escalationLine(e, t.view, e.policy.label ? discordEscape(e.policy.label) : discordMentionMarkup(e.policy.mentions), discordEscape) : null;
  const lines = withHeadline(stateLines(t.view), t.view, escalation !== null);
  if (lines.length > 0) {
    const embeds = Array.isArray(body.embeds) ? (body.embeds as Obj[]) : [];
    if (embeds.length === 0) embeds.push({});
    const first = embeds[0]!;
    // Resolved by its source: green, whatever colour the template chose for the severity.
    if (t.view.sourceResolved) first.color = RESOLVED_COLOR;
    const fields = Array.isArray(first.fields) ? (first.fields as unknown[]) : [];
    // First, so it survives the field limit and is what a phone shows under the title.
    fields.unshift({ name: discordEscape(lines[0]!), value: [...lines.slice(1).map(discordEscape), ...(escalation ? [escalation] : [])].join('\n'), inline: false });
    first.fields = fields;
    body.embeds = embeds;
  }
  const buttons = interactive ? buttonsFor(t.view, t.buttons) : [];
  if (buttons.length > 0) {
    const rows = Array.isArray(body.components) ? (body.components as unknown[]) : [];
    rows.unshift({
      type: 1,
      components: buttons.map((action) => ({ type: 2, style: DISCORD_STYLE[action], label: BUTTON_LABELS[action], custom_id: triageButtonId(action, t.deliveryId) })),
    });
    body.components = rows;
  }
  addDiscordSilence(body, t, interactive, buttons.length > 0);
}
