/**
 * The silence control of a message, added with the triage part after the user's template rendered: the Silence
 * menu (Slack `static_select`, Discord string select) when the source's API is configured and the platform's
 * interactivity is, the Unsilence button while a silence holds, else a link button to the source's own "new
 * silence" page. The state lines ("Silenced by @ana until 18:00 UTC") are part of the triage state block (render.ts).
 */
import { SLACK_LIMITS, DISCORD_LIMITS } from '../templates/limits';
import type { TriageRenderContext } from './policy';
import { durationLabel, silenceControl, silenceMenuId, silenceOptionValue, unsilenceButtonId } from './silence';

type Obj = Record<string, unknown>;

/** Slack action ids of the silence controls (the triage handler's `triage_` prefix does not take them). */
export const SLACK_SILENCE_MENU_ACTION = 'silence_menu';
export const SLACK_UNSILENCE_ACTION = 'silence_unsilence';
export const SLACK_SILENCE_LINK_ACTION = 'silence_link';

const MENU_PLACEHOLDER = 'Silence for…';
const UNSILENCE_LABEL = 'Unsilence';
const LINK_LABEL = 'Silence';

/** What to draw: an interactive menu, the Unsilence button, a link (URL), or nothing. */
type Control = { kind: 'menu' } | { kind: 'unsilence' } | { kind: 'link'; url: string } | null;

function controlFor(t: TriageRenderContext, interactive: boolean, maxUrl: number): Control {
  const silence = t.silence;
  if (!silence) return null;
  const wanted = silenceControl(t.view.silence);
  // An Unsilence or a menu needs the platform to send the click back to the bridge.
  if (wanted === 'unsilence') return interactive ? { kind: 'unsilence' } : null;
  if (wanted !== 'menu') return null;
  if (silence.menu && interactive) return { kind: 'menu' };
  const url = silence.links.find((link) => link.length <= maxUrl);
  return url ? { kind: 'link', url } : null;
}

/** Appends the silence control to a Slack body's blocks as an actions block of its own. */
export function addSlackSilence(blocks: unknown[], t: TriageRenderContext, interactive: boolean): void {
  const control = controlFor(t, interactive, SLACK_LIMITS.buttonUrl);
  if (!control) return;
  let element: Obj;
  if (control.kind === 'menu') {
    element = {
      type: 'static_select',
      action_id: SLACK_SILENCE_MENU_ACTION,
      placeholder: { type: 'plain_text', text: MENU_PLACEHOLDER },
      options: t.silence!.durationsMs.map((ms) => ({ text: { type: 'plain_text', text: durationLabel(ms) }, value: silenceOptionValue(t.deliveryId, ms) })),
    };
  } else if (control.kind === 'unsilence') {
    element = { type: 'button', action_id: SLACK_UNSILENCE_ACTION, text: { type: 'plain_text', text: UNSILENCE_LABEL }, value: unsilenceButtonId(t.deliveryId) };
  } else {
    element = { type: 'button', action_id: SLACK_SILENCE_LINK_ACTION, text: { type: 'plain_text', text: LINK_LABEL }, url: control.url };
  }
  blocks.push({ type: 'actions', block_id: `silence.r${t.revision}`, elements: [element] });
}

/**
 * Adds the silence control to a Discord body as an action row of its own (a select menu must be alone in its row),
 * after the triage buttons' row when there is one.
 */
export function addDiscordSilence(body: Obj, t: TriageRenderContext, interactive: boolean, afterTriageRow: boolean): void {
  const control = controlFor(t, interactive, DISCORD_LIMITS.linkUrl);
  if (!control) return;
  let component: Obj;
  if (control.kind === 'menu') {
    component = {
      type: 3,
      custom_id: silenceMenuId(t.deliveryId),
      placeholder: MENU_PLACEHOLDER,
      options: t.silence!.durationsMs.map((ms) => ({ label: durationLabel(ms), value: String(ms) })),
    };
  } else if (control.kind === 'unsilence') {
    component = { type: 2, style: 2, label: UNSILENCE_LABEL, custom_id: unsilenceButtonId(t.deliveryId) };
  } else {
    component = { type: 2, style: 5, label: LINK_LABEL, url: control.url };
  }
  const rows = Array.isArray(body.components) ? (body.components as unknown[]) : [];
  rows.splice(afterTriageRow ? 1 : 0, 0, { type: 1, components: [component] });
  body.components = rows;
}
