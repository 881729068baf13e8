/** The console's entry point: loads who is signed in and the config's names, then shows the view in the URL hash. */
import { api } from './api';
import { h, replace } from './dom';
import { ledgerView } from './ledger';
import { playgroundView } from './playground';
import type { Meta } from './types';

async function start(): Promise<void> {
  const main = document.getElementById('main')!;
  const nav = document.getElementById('nav')!;
  const user = document.getElementById('user')!;
  let meta: Meta;
  try {
    meta = await api<Meta>('GET', '/meta');
  } catch (error) {
    replace(main, h('p', { class: 'problem', role: 'alert' }, `Cannot reach the console API: ${(error as Error).message}`));
    return;
  }
  user.textContent = `${meta.user.name} · ${meta.user.role}`;
  const links = { ledger: h('a', { href: '#/ledger' }, 'Ledger'), playground: h('a', { href: '#/playground' }, 'Template playground') };
  replace(nav, h('ul', null, h('li', null, links.ledger), h('li', null, links.playground)));

  const show = () => {
    const [view, query] = location.hash.replace(/^#\/?/, '').split('?');
    const which = view === 'playground' ? 'playground' : 'ledger';
    for (const [name, a] of Object.entries(links)) {
      if (name === which) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const row = Number(new URLSearchParams(query ?? '').get('alert'));
    if (which === 'playground') playgroundView(main, meta, Number.isInteger(row) && row > 0 ? row : null);
    else ledgerView(main, meta, (alertRow) => (location.hash = `#/playground?alert=${alertRow}`));
    document.title = `${which === 'playground' ? 'Template playground' : 'Ledger'} · chatops-bridge console`;
    main.focus({ preventScroll: true });
  };
  window.addEventListener('hashchange', show);
  show();
}

void start();
