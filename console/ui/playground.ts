/**
 * The template playground: an alert (from the ledger, or a pasted payload validated by the server with the
 * webhook's schema), a route, destinations and a template; the Slack and Discord previews side by side, drawn
 * from the exact bodies format() produced, updated as you type; every fit, escape and mention listed beside
 * them; the routing explainer; and (admin) Save, which the server accepts only after `check` passes.
 */
import { api, ApiError } from './api';
import { field, h, replace, select, type Child } from './dom';
import { discordMessage } from './discord-preview';
import { slackMessage } from './slack-preview';
import type { LedgerAlert, Meta, PlatformPreview, PreviewAnswer, RouteVerdict } from './types';

type Platform = 'slack' | 'discord';
const PLATFORMS: Platform[] = ['slack', 'discord'];
const LABEL: Record<Platform, string> = { slack: 'Slack', discord: 'Discord' };

export function playgroundView(root: HTMLElement, meta: Meta, alertRow: number | null): void {
  const admin = meta.user.role === 'admin';
  const state = {
    alertRow,
    templateName: 'default',
    templateChosen: false,
    dirty: { slack: false, discord: false } as Record<Platform, boolean>,
    seq: 0,
  };

  // --- alert input -------------------------------------------------------------------------------------------
  const recent = select([{ value: '', label: 'Paste a payload below' }], alertRow === null ? '' : String(alertRow), { name: 'alert' });
  const sample = select([{ value: '', label: 'Load a sample…' }, ...meta.samples.map((s) => ({ value: s.name, label: s.name }))], '', { name: 'sample' });
  const payload = h('textarea', { name: 'payload', rows: 14, spellcheck: 'false', autocomplete: 'off', class: 'code', 'aria-describedby': 'payload-issues' });
  const issues = h('ul', { id: 'payload-issues', class: 'issues', role: 'alert' });
  const storedNote = h('p', { class: 'hint', id: 'stored-note' });

  // --- target and template -----------------------------------------------------------------------------------
  const ofPlatform = (p: Platform) => meta.destinations.filter((d) => (p === 'slack' ? d.type === 'slack' : d.type === 'discord' || d.type === 'discord-webhook'));
  const route = select([{ value: '', label: 'The route that sends it (automatic)' }, ...meta.routes.map((r) => ({ value: r.name, label: r.name }))], '', { name: 'route' });
  const destinations: Record<Platform, HTMLSelectElement> = {
    slack: select([{ value: '', label: 'automatic' }, ...ofPlatform('slack').map((d) => ({ value: d.name, label: d.name }))], '', { name: 'slack-destination' }),
    discord: select([{ value: '', label: 'automatic' }, ...ofPlatform('discord').map((d) => ({ value: d.name, label: d.name }))], '', { name: 'discord-destination' }),
  };
  const names = [...new Set([...meta.templates.slack, ...meta.templates.discord])].sort();
  const templateSelect = select([{ value: '', label: "The route's template (automatic)" }, ...names.map((n) => ({ value: n, label: n }))], '', { name: 'template' });
  const newName = h('input', { type: 'text', name: 'new-template', placeholder: 'or a new name, e.g. soc-compact', pattern: '[A-Za-z0-9][A-Za-z0-9._-]*', maxlength: 64, autocomplete: 'off' });
  const editors: Record<Platform, HTMLTextAreaElement> = {
    slack: h('textarea', { name: 'slack-template', rows: 18, spellcheck: 'false', class: 'code' }),
    discord: h('textarea', { name: 'discord-template', rows: 18, spellcheck: 'false', class: 'code' }),
  };
  const origins: Record<Platform, HTMLElement> = { slack: h('small', { class: 'hint' }), discord: h('small', { class: 'hint' }) };
  const saveStatus: Record<Platform, HTMLElement> = { slack: h('div', { role: 'status', 'aria-live': 'polite' }), discord: h('div', { role: 'status', 'aria-live': 'polite' }) };

  // --- output --------------------------------------------------------------------------------------------------
  const explainer = h('div', { class: 'explainer' });
  const panels: Record<Platform, HTMLElement> = {
    slack: h('section', { class: 'preview slack', 'aria-labelledby': 'slack-preview-h', 'data-platform': 'slack' }),
    discord: h('section', { class: 'preview discord', 'aria-labelledby': 'discord-preview-h', 'data-platform': 'discord' }),
  };
  const previewStatus = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });

  const loadTemplate = async (name: string) => {
    for (const p of PLATFORMS) {
      try {
        const t = await api<{ source: string; origin: string }>('GET', `/templates/${encodeURIComponent(name)}/${p}`);
        editors[p].value = t.source;
        origins[p].textContent = t.origin === 'user' ? `${name}.${p}.hbs from your templates directory` : `${name}.${p}.hbs (shipped default; saving writes a copy into your templates directory)`;
      } catch {
        editors[p].value = '';
        origins[p].textContent = `${name}.${p}.hbs does not exist yet; saving creates it`;
      }
      state.dirty[p] = false;
      replace(saveStatus[p]);
    }
  };

  const schedule = (() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(() => void refresh(), 250);
    };
  })();

  const refresh = async () => {
    const seq = ++state.seq;
    const edited = PLATFORMS.filter((p) => state.dirty[p]);
    const request: Record<string, unknown> = {
      ...(state.alertRow !== null ? { alertRow: state.alertRow } : { payloadText: payload.value }),
      ...(route.value ? { route: route.value } : {}),
      destinations: Object.fromEntries(PLATFORMS.filter((p) => destinations[p].value).map((p) => [p, destinations[p].value])),
      ...(state.templateChosen || edited.length > 0
        ? { template: { name: state.templateName, sources: Object.fromEntries(edited.map((p) => [p, editors[p].value])) } }
        : {}),
    };
    previewStatus.textContent = 'Rendering…';
    try {
      const answer = await api<PreviewAnswer>('POST', '/preview', request);
      if (seq !== state.seq) return;
      payload.removeAttribute('aria-invalid');
      replace(issues);
      drawExplainer(answer.explain.routes);
      for (const p of PLATFORMS) drawPanel(p, answer.previews.find((x) => x.platform === p), answer.notes);
      previewStatus.textContent = `Preview of “${answer.alert.title}” updated.`;
    } catch (error) {
      if (seq !== state.seq) return;
      if (error instanceof ApiError && Array.isArray(error.body.issues)) {
        payload.setAttribute('aria-invalid', 'true');
        replace(issues, ...(error.body.issues as { path: string; message: string }[]).map((i) => h('li', null, h('code', null, i.path), ` ${i.message}`)));
        previewStatus.textContent = 'The payload is not valid: see the problems under it. The previews show the last valid one.';
      } else previewStatus.textContent = `Preview failed: ${(error as Error).message}`;
    }
  };

  const drawExplainer = (routes: RouteVerdict[]) => {
    replace(
      explainer,
      h(
        'table',
        null,
        h('caption', null, 'Which routes matched, and why the others did not'),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Route'), h('th', { scope: 'col' }, 'Verdict'), h('th', { scope: 'col' }, 'Why'))),
        h(
          'tbody',
          null,
          ...routes.map((r) =>
            h(
              'tr',
              { 'data-route': r.route, 'data-verdict': r.verdict },
              h('th', { scope: 'row' }, r.route),
              h('td', null, h('span', { class: `badge verdict-${r.verdict.replace(' ', '-')}` }, r.verdict)),
              h('td', null, r.verdict === 'matched' ? `delivers to ${r.delivers.length > 0 ? r.delivers.join(', ') : '(destinations already reached by an earlier route)'}` : r.reason ?? ''),
            ),
          ),
        ),
      ),
    );
  };

  const drawPanel = (p: Platform, preview: PlatformPreview | undefined, notes: string[]) => {
    const heading = h('h3', { id: `${p}-preview-h` }, `${LABEL[p]} preview`, preview ? h('small', null, ` ${preview.destination} · route ${preview.route ?? '(none)'}`) : null);
    if (!preview) return replace(panels[p], heading, h('p', { class: 'hint' }, notes.find((n) => n.includes(LABEL[p])) ?? `No ${LABEL[p]} destination.`));
    const body = preview.body;
    const message: Child = body === null ? h('p', { class: 'problem', role: 'alert' }, `The edited template does not compile: ${preview.problem ?? ''}`) : p === 'slack' ? slackMessage(body, preview.destination) : discordMessage(body, preview.destination);
    replace(
      panels[p],
      heading,
      h('div', { class: 'chat', 'data-testid': `${p}-message` }, message),
      h(
        'div',
        { class: 'warnings' },
        h('h4', null, `What fitting, escaping and mentions did (${preview.warnings.length})`),
        preview.warnings.length === 0 ? h('p', { class: 'hint' }, 'Nothing: the message is sent as rendered.') : h('ul', null, ...preview.warnings.map((w) => h('li', { 'data-kind': w.kind }, h('span', { class: `badge kind-${w.kind}` }, w.kind), ' ', w.text))),
      ),
      body === null ? null : h('details', null, h('summary', null, 'Raw JSON (exactly what is sent)'), h('pre', { class: 'code', 'data-testid': `${p}-json` }, JSON.stringify(body, null, 2))),
    );
  };

  const save = async (p: Platform) => {
    replace(saveStatus[p], 'Checking…');
    try {
      const result = await api<{ file: string; warnings: string[] }>('PUT', `/templates/${encodeURIComponent(state.templateName)}/${p}`, { source: editors[p].value });
      state.dirty[p] = false;
      replace(saveStatus[p], h('p', { class: 'ok' }, `Saved ${result.file}; check passed and the bridge reloaded it.`), result.warnings.length > 0 ? h('ul', null, ...result.warnings.map((w) => h('li', null, w))) : null);
      origins[p].textContent = `${state.templateName}.${p}.hbs from your templates directory`;
      schedule();
    } catch (error) {
      const errors = error instanceof ApiError && Array.isArray(error.body.errors) ? (error.body.errors as string[]) : [];
      replace(saveStatus[p], h('div', { class: 'problem', role: 'alert' }, h('p', null, `Not saved: ${(error as Error).message}`), errors.length > 0 ? h('ul', null, ...errors.map((e) => h('li', null, e))) : null));
    }
  };

  const chooseTemplate = (name: string) => {
    state.templateName = name || 'default';
    state.templateChosen = name !== '';
    void loadTemplate(state.templateName).then(schedule);
  };

  // --- wiring -------------------------------------------------------------------------------------------------
  recent.addEventListener('change', () => void useStored(recent.value === '' ? null : Number(recent.value)));
  sample.addEventListener('change', () => {
    const chosen = meta.samples.find((s) => s.name === sample.value);
    if (!chosen) return;
    payload.value = chosen.payloadText;
    void useStored(null);
  });
  payload.addEventListener('input', () => {
    if (state.alertRow !== null) {
      state.alertRow = null;
      recent.value = '';
      storedNote.textContent = '';
    }
    schedule();
  });
  for (const el of [route, destinations.slack, destinations.discord]) el.addEventListener('change', schedule);
  templateSelect.addEventListener('change', () => chooseTemplate(templateSelect.value));
  newName.addEventListener('change', () => {
    if (newName.checkValidity() && newName.value) chooseTemplate(newName.value);
  });
  for (const p of PLATFORMS) {
    editors[p].addEventListener('input', () => {
      state.dirty[p] = true;
      schedule();
    });
  }

  const useStored = async (row: number | null) => {
    state.alertRow = row;
    if (row !== null) {
      try {
        const stored = await api<{ alert: { title: string }; payloadText: string | null }>('GET', `/alerts/${row}`);
        storedNote.textContent = `Stored alert #${row}: previewed exactly as the worker formats it. Typing in the payload switches to the edited payload.`;
        if (stored.payloadText !== null) payload.value = stored.payloadText;
      } catch (error) {
        storedNote.textContent = `Could not load alert #${row}: ${(error as Error).message}`;
      }
    } else storedNote.textContent = '';
    schedule();
  };

  replace(
    root,
    h('h2', null, 'Template playground'),
    h('p', { class: 'lead' }, 'Pick an alert, a route and a template; edit it and watch the Slack and Discord messages change. The previews are drawn from the exact JSON the bridge would send.'),
    h(
      'div',
      { class: 'playground' },
      h(
        'div',
        { class: 'inputs' },
        h('section', { 'aria-labelledby': 'alert-h' }, h('h3', { id: 'alert-h' }, 'Alert'), field('Alert from the ledger', recent), field('Sample payload', sample), storedNote, field('Payload (Panther, Alertmanager or Grafana JSON)', payload, 'Validated with its webhook’s own schema; a group previews its first alert.'), issues),
        h('section', { 'aria-labelledby': 'target-h' }, h('h3', { id: 'target-h' }, 'Route and destinations'), field('Route', route), field('Slack destination', destinations.slack), field('Discord destination', destinations.discord)),
        h(
          'section',
          { 'aria-labelledby': 'template-h' },
          h('h3', { id: 'template-h' }, 'Template'),
          field('Template', templateSelect, 'Until you pick or edit one, the preview uses the template the route would use.'),
          field('New template name', newName),
          ...PLATFORMS.map((p) =>
            h(
              'div',
              { class: 'editor' },
              field(`${LABEL[p]} template source`, editors[p]),
              origins[p],
              admin ? h('button', { type: 'button', class: 'primary', onclick: () => void save(p) }, `Save ${LABEL[p]} template`) : h('p', { class: 'hint' }, 'Viewer role: saving needs an admin.'),
              saveStatus[p],
            ),
          ),
        ),
      ),
      h('div', { class: 'outputs' }, previewStatus, h('section', { 'aria-labelledby': 'routing-h' }, h('h3', { id: 'routing-h' }, 'Routing'), explainer), h('div', { class: 'previews' }, panels.slack, panels.discord)),
    ),
  );

  void loadTemplate('default');
  void api<{ alerts: LedgerAlert[] }>('GET', '/alerts?limit=30').then(({ alerts }) => {
    for (const a of alerts) recent.appendChild(h('option', { value: String(a.alertRow) }, `#${a.alertRow} ${a.severity} ${a.title.slice(0, 80)}`));
    recent.value = alertRow === null ? '' : String(alertRow);
  });
  if (alertRow === null) payload.value = meta.samples.find((s) => s.name === 'docs-example')?.payloadText ?? meta.samples[0]?.payloadText ?? '{}';
  void useStored(alertRow);
}
