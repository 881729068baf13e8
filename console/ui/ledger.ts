/**
 * The ledger view: recent alerts with every delivery's status, attempts, last reason and message link, filters,
 * and (admin) Resend per delivery and for all dead ones — through the server's outbox requeue.
 */
import { api, ApiError } from './api';
import { field, h, link, replace, select } from './dom';
import type { Delivery, LedgerAlert, Meta } from './types';

const any = (label: string, values: string[]) => [{ value: '', label }, ...values.map((v) => ({ value: v, label: v }))];

export function ledgerView(root: HTMLElement, meta: Meta, openInPlayground: (alertRow: number) => void): void {
  const admin = meta.user.role === 'admin';
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const list = h('div', { class: 'alerts', 'aria-busy': 'false' });
  const source = select(any('Any source', meta.sources), '', { name: 'source' });
  const severity = select(any('Any severity', meta.severities), '', { name: 'severity' });
  const deliveryStatus = select(any('Any status', meta.statuses), '', { name: 'status' });
  const destination = select(any('Any destination', meta.destinations.map((d) => d.name)), '', { name: 'destination' });
  const text = h('input', { type: 'search', name: 'q', placeholder: 'title, alert id or detection', autocomplete: 'off' });

  const load = async (): Promise<LedgerAlert[]> => {
    const query = new URLSearchParams();
    for (const [key, el] of [['source', source], ['severity', severity], ['status', deliveryStatus], ['destination', destination], ['q', text]] as const) {
      if (el.value) query.set(key, el.value);
    }
    list.setAttribute('aria-busy', 'true');
    try {
      const { alerts } = await api<{ alerts: LedgerAlert[] }>('GET', `/alerts?${query}`);
      replace(list, alerts.length === 0 ? h('p', { class: 'empty' }, 'No alerts match.') : alerts.map(alertCard));
      return alerts;
    } catch (error) {
      status.textContent = `Could not load the ledger: ${(error as Error).message}`;
      return [];
    } finally {
      list.setAttribute('aria-busy', 'false');
    }
  };

  /** After a resend: reload until the delivery leaves "pending" (or ~30 s pass). */
  const follow = async (id: number) => {
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const found = (await load()).flatMap((a) => a.deliveries).find((d) => d.id === id);
      if (found && found.status !== 'pending') {
        status.textContent = `Delivery #${id} is ${found.status}${found.lastReason ? ` (${found.lastReason})` : ''}.`;
        return;
      }
    }
  };

  const resend = async (d: Delivery) => {
    let confirmDelivered = false;
    if (d.status === 'delivered') {
      confirmDelivered = window.confirm(`Delivery #${d.id} to ${d.destination} was already delivered. Resending posts a second message. Send it again?`);
      if (!confirmDelivered) return;
    }
    try {
      await api('POST', `/deliveries/${d.id}/resend`, { confirmDelivered });
      status.textContent = `Delivery #${d.id} requeued; sending…`;
      await load();
      void follow(d.id);
    } catch (error) {
      status.textContent = error instanceof ApiError ? `Not resent: ${error.message}` : `Resend failed: ${(error as Error).message}`;
    }
  };

  const resendDead = async () => {
    try {
      const result = await api<{ requeued: number[] }>('POST', '/deliveries/resend-dead', {});
      status.textContent = result.requeued.length === 0 ? 'No dead deliveries to resend.' : `Requeued ${result.requeued.length} dead deliveries; sending…`;
      await load();
      if (result.requeued[0] !== undefined) void follow(result.requeued[0]);
    } catch (error) {
      status.textContent = `Resend failed: ${(error as Error).message}`;
    }
  };

  const deliveryRow = (d: Delivery) =>
    h(
      'tr',
      { 'data-delivery': d.id, 'data-status': d.status },
      h('th', { scope: 'row' }, d.destination, h('small', null, ` ${d.type}`)),
      h('td', null, d.route),
      h('td', null, h('span', { class: `badge status-${d.status}` }, d.status)),
      h('td', null, String(d.attempts), d.rateLimited > 0 ? ` (+${d.rateLimited} rate-limited)` : ''),
      h('td', { class: 'reason' }, d.lastReason ?? ''),
      h('td', null, d.messageUrl ? link(d.messageUrl, 'open message') : d.messageRef ? Object.values(d.messageRef).join(' / ') : '—'),
      h(
        'td',
        null,
        admin && d.status !== 'pending'
          ? h('button', { type: 'button', class: d.status === 'dead' ? 'primary' : 'secondary', onclick: () => void resend(d) }, d.status === 'dead' ? 'Resend' : 'Resend again…')
          : null,
      ),
    );

  const alertCard = (a: LedgerAlert) =>
    h(
      'article',
      { class: 'alert-card', 'data-alert-row': a.alertRow },
      h(
        'header',
        null,
        h('h3', null, h('span', { class: `badge sev-${a.severity.toLowerCase()}` }, a.severity), ' ', a.title),
        h('p', { class: 'meta' }, `${a.source} · ${a.alertId ?? 'no alert id'} · received ${new Date(a.receivedAt).toLocaleString()}`),
        h('button', { type: 'button', class: 'secondary', onclick: () => openInPlayground(a.alertRow) }, 'Open in playground'),
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          null,
          h('caption', { class: 'visually-hidden' }, `Deliveries of ${a.title}`),
          h('thead', null, h('tr', null, ...['Destination', 'Route', 'Status', 'Attempts', 'Last reason', 'Message', ''].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', null, ...a.deliveries.map(deliveryRow)),
        ),
      ),
    );

  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter alerts', onsubmit: (e: Event) => (e.preventDefault(), void load()) },
    field('Source', source),
    field('Severity', severity),
    field('Status', deliveryStatus),
    field('Destination', destination),
    field('Text', text),
    h('div', { class: 'field actions' }, h('button', { type: 'submit', class: 'primary' }, 'Apply'), h('button', { type: 'button', class: 'secondary', onclick: () => void load() }, 'Refresh')),
  );
  for (const el of [source, severity, deliveryStatus, destination]) el.addEventListener('change', () => void load());

  replace(
    root,
    h('h2', null, 'Ledger'),
    h('p', { class: 'lead' }, 'What the bridge did with every recent alert: each destination, its status, attempts and last reason.'),
    form,
    admin ? h('p', null, h('button', { type: 'button', class: 'danger', onclick: () => void resendDead() }, 'Resend all dead deliveries')) : h('p', { class: 'hint' }, 'Viewer role: resend needs an admin.'),
    status,
    list,
  );
  void load();
}
