/**
 * A loopback fake of Alertmanager's API v2 silences, for tests faster than the real one (interop/): it records every
 * request (method, path, headers, body), creates silences (`POST …/silences` → `{"silenceID"}`), expires them
 * (`DELETE …/silence/{id}`), lists them (`GET …/silences`) or gives one (`GET …/silence/{id}`), and answers an HTTP error while `failWith` is set, or
 * makes a silence but answers 502 (`loseCreateAnswers`), then fails every request (`failAfterLostCreate`), or makes a
 * silence and never answers (`holdCreateAnswers`: a bridge killed while waiting). `prefix` is where the API lives
 * (`/api/v2` for Alertmanager, `/api/alertmanager/grafana/api/v2` for Grafana). It checks what Alertmanager checks of
 * a postable silence (matchers with name, value, isRegex; startsAt, endsAt, createdBy, comment) and answers 400 for
 * a body that lacks any, as Alertmanager does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAmRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export interface FakeAlertmanager {
  url: string;
  requests: FakeAmRequest[];
  /** Silences by id, with their state (`active`, `expired`). */
  silences: Map<string, { body: any; state: 'active' | 'expired' }>;
  /** While set, every request is answered with this status (and a JSON error body). */
  failWith: number | undefined;
  /** While set, every create (only) is answered with this status, as Alertmanager refuses a silence it finds invalid. */
  failCreatesWith: number | undefined;
  /** The next this many creates are made, but answered 502 (as a proxy that lost Alertmanager's answer). */
  loseCreateAnswers: number;
  /** Set as `failWith` once a create answer was lost: the source goes down right after making the silence. */
  failAfterLostCreate: number | undefined;
  /** The next this many creates are made, but never answered (the request stays open until the fake closes). */
  holdCreateAnswers: number;
  /** When set, a request without exactly this Authorization header is answered 401. */
  authorization: string | undefined;
  close(): Promise<void>;
}

function postableProblem(body: any): string | undefined {
  if (!body || typeof body !== 'object') return 'body must be a JSON object';
  if (!Array.isArray(body.matchers) || body.matchers.length === 0) return 'matchers must be a non-empty list';
  for (const m of body.matchers) {
    if (typeof m?.name !== 'string' || typeof m?.value !== 'string' || typeof m?.isRegex !== 'boolean') return 'each matcher needs name, value and isRegex';
  }
  for (const field of ['startsAt', 'endsAt', 'createdBy', 'comment']) if (typeof body[field] !== 'string' || body[field] === '') return `${field} in body is required`;
  if (Number.isNaN(Date.parse(body.startsAt)) || Number.isNaN(Date.parse(body.endsAt))) return 'startsAt and endsAt must be date-times';
  if (Date.parse(body.endsAt) <= Date.parse(body.startsAt)) return 'silence invalid: end time must not be before start time';
  return undefined;
}

export async function startFakeAlertmanager(prefix = '/api/v2'): Promise<FakeAlertmanager> {
  let next = 0;
  const fake: Omit<FakeAlertmanager, 'url' | 'close'> = { requests: [], silences: new Map(), failWith: undefined, failCreatesWith: undefined, loseCreateAnswers: 0, failAfterLostCreate: undefined, holdCreateAnswers: 0, authorization: undefined };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      let body: any;
      try {
        body = raw === '' ? undefined : JSON.parse(raw);
      } catch {
        body = raw;
      }
      const path = req.url ?? '';
      fake.requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      const reply = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      if (fake.failWith) return reply(fake.failWith, { code: fake.failWith, message: 'refused by the fake' });
      if (fake.authorization !== undefined && req.headers.authorization !== fake.authorization) return reply(401, { message: 'Unauthorized' });
      if (req.method === 'POST' && path === `${prefix}/silences`) {
        const problem = postableProblem(body);
        if (problem) return reply(400, problem);
        if (fake.failCreatesWith) return reply(fake.failCreatesWith, { code: fake.failCreatesWith, message: 'refused by the fake' });
        const id = `fake-silence-${++next}`;
        fake.silences.set(id, { body, state: 'active' });
        if (fake.holdCreateAnswers > 0) {
          fake.holdCreateAnswers--;
          return;
        }
        if (fake.loseCreateAnswers > 0) {
          fake.loseCreateAnswers--;
          if (fake.failAfterLostCreate !== undefined) fake.failWith = fake.failAfterLostCreate;
          return reply(502, 'bad gateway');
        }
        return reply(200, { silenceID: id });
      }
      if (req.method === 'GET' && path === `${prefix}/silences`) {
        // gettableSilence, as Alertmanager lists them (times with milliseconds).
        const iso = (text: string) => new Date(Date.parse(text)).toISOString();
        return reply(200, [...fake.silences].map(([id, s]) => ({ id, status: { state: s.state }, updatedAt: new Date().toISOString(), matchers: s.body.matchers, startsAt: iso(s.body.startsAt), endsAt: iso(s.body.endsAt), createdBy: s.body.createdBy, comment: s.body.comment })));
      }
      const m = new RegExp(`^${prefix.replace(/\//g, '\\/')}/silence/([^/]+)$`).exec(path);
      if (req.method === 'GET' && m) {
        const silence = fake.silences.get(decodeURIComponent(m[1]!));
        return silence ? reply(200, { id: decodeURIComponent(m[1]!), status: { state: silence.state }, ...silence.body }) : reply(404, 'silence not found');
      }
      if (req.method === 'DELETE' && m) {
        const silence = fake.silences.get(decodeURIComponent(m[1]!));
        if (!silence) return reply(404, 'silence not found');
        silence.state = 'expired';
        return res.writeHead(200).end();
      }
      return reply(404, 'not found');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(fake, { url, close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Held answers keep their connections open: end them, or close would wait for them.
        server.closeAllConnections();
      }) }) as FakeAlertmanager;
}
