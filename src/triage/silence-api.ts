import type { SilenceApiConfig } from '../config/schema-silence';
import { networkFailure } from '../destinations/network-error';
import { SOURCE_LABELS } from '../templates/presentation';
import type { SilenceMatcher } from './silence';

/**
 * A failed silence call. The message is what messages show after "Silence failed: " ("401 from Alertmanager",
 * "Grafana unreachable (network: ECONNREFUSED)"), never a credential. `retryable` for transport problems, 5xx, 429,
 * 408 and auth (an operator can fix a token or a proxy); a 400 (matchers the source refuses) is not.
 */
export class SilenceApiError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** The HTTP status of the answer, when there was one. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The silence to create, as Alertmanager's `postableSilence` has it. */
export interface PostableSilence {
  matchers: SilenceMatcher[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

/** Where each source keeps Alertmanager's API v2: Alertmanager at its base URL, Grafana-managed alerts under Grafana's. */
const API_PREFIX: Record<string, string> = { alertmanager: 'api/v2', grafana: 'api/alertmanager/grafana/api/v2' };

/** Longest part of an error answer's body shown in a message (Alertmanager says what was wrong with a silence). */
const DETAIL_MAX = 200;

/**
 * A minimal client of Alertmanager's API v2 silences (`POST /silences`, `DELETE /silence/{id}`), for Alertmanager
 * itself or Grafana's Alertmanager-compatible API. Credentials go in headers only; no error text carries them.
 */
export class SilenceApi {
  private readonly label: string;
  private readonly base: string;

  constructor(
    source: string,
    private readonly api: SilenceApiConfig,
  ) {
    this.label = SOURCE_LABELS[source] ?? source;
    const root = api.url.endsWith('/') ? api.url : `${api.url}/`;
    this.base = `${root}${API_PREFIX[source] ?? API_PREFIX.alertmanager}`;
  }

  /** Creates a silence; its id. */
  async create(silence: PostableSilence): Promise<string> {
    const body = JSON.stringify({
      matchers: silence.matchers,
      startsAt: new Date(silence.startsAt).toISOString(),
      endsAt: new Date(silence.endsAt).toISOString(),
      createdBy: silence.createdBy,
      comment: silence.comment,
    });
    const answer = await this.call('POST', `${this.base}/silences`, body);
    let id: unknown;
    try {
      id = (JSON.parse(answer.text) as { silenceID?: unknown }).silenceID;
    } catch {
      id = undefined;
    }
    if (typeof id !== 'string' || id === '') throw new SilenceApiError(`${this.label} answered without a silence id`, true);
    return id;
  }

  /**
   * The id of a silence this bridge already created for `silence` (same creator, comment and end, still pending or
   * active), or undefined. Asked before a create is tried again: a create whose answer was lost (a timeout, a proxy's
   * 502) may have been made, and a second one would be a silence nobody can lift from chat.
   */
  async existing(silence: PostableSilence): Promise<string | undefined> {
    type Listed = { id?: unknown; status?: { state?: unknown }; createdBy?: unknown; comment?: unknown; endsAt?: unknown } | null;
    const found = ((await this.list()) as Listed[]).find((s) =>
      typeof s?.id === 'string' &&
      (s.status?.state === 'active' || s.status?.state === 'pending') &&
      s.createdBy === silence.createdBy &&
      s.comment === silence.comment &&
      typeof s.endsAt === 'string' &&
      Date.parse(s.endsAt) === silence.endsAt,
    ) as { id: string } | undefined;
    return found?.id;
  }

  /** Every silence the source lists (`GET /silences`), as it gives them (`gettableSilence`). */
  async list(): Promise<unknown[]> {
    const answer = await this.call('GET', `${this.base}/silences`, undefined);
    let list: unknown;
    try {
      list = JSON.parse(answer.text);
    } catch {
      throw new SilenceApiError(`${this.label} answered its silence list with something that is not JSON`, true);
    }
    if (!Array.isArray(list)) throw new SilenceApiError(`${this.label} answered its silence list with something that is not a list`, true);
    return list;
  }

  /**
   * Expires a silence. One that no longer exists (lost with the source's storage, or collected after its retention)
   * counts as expired, and so does one already expired.
   */
  async expire(silenceId: string): Promise<void> {
    const url = `${this.base}/silence/${encodeURIComponent(silenceId)}`;
    try {
      await this.call('DELETE', url, undefined, [404]);
    } catch (error) {
      // Alertmanager before 0.26 answers a silence it does not have with 500 "silence not found" (404 since): ask
      // for the silence itself before calling it a failure, or the Unsilence would be retried until the silence's end.
      if (!(error instanceof SilenceApiError) || error.status === undefined || error.status < 500 || !(await this.gone(url))) throw error;
    }
  }

  /** Whether the silence at `url` is unknown (404) or expired; false when that cannot be told. */
  private async gone(url: string): Promise<boolean> {
    try {
      const answer = await this.call('GET', url, undefined, [404]);
      return answer.status === 404 || (JSON.parse(answer.text) as { status?: { state?: unknown } } | null)?.status?.state === 'expired';
    } catch {
      return false;
    }
  }

  private async call(method: string, url: string, body: string | undefined, alsoOk: readonly number[] = []): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { accept: 'application/json', ...(this.api.headers ?? {}) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const auth = this.api.auth;
    if (auth?.bearer) headers.authorization = `Bearer ${auth.bearer}`;
    else if (auth?.basic) headers.authorization = `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`, 'utf8').toString('base64')}`;
    let response: globalThis.Response;
    try {
      response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(this.api.timeoutMs), redirect: 'manual' });
    } catch (error) {
      const why = (error as Error).name === 'TimeoutError' ? 'network: timeout' : (networkFailure(error) ?? 'network error');
      throw new SilenceApiError(`${this.label} unreachable (${why})`, true);
    }
    const text = await response.text().catch(() => '');
    if (response.ok || alsoOk.includes(response.status)) return { status: response.status, text };
    const status = response.status;
    const retryable = status >= 500 || status === 429 || status === 408 || status === 401 || status === 403 || (status >= 300 && status < 400);
    // A refusal names its reason (Alertmanager: "silence invalid: …"); auth failures and server errors say no more.
    const detail = status === 400 || status === 422 ? oneLine(text) : '';
    throw new SilenceApiError(`${status} from ${this.label}${detail ? `: ${detail}` : ''}`, retryable, status);
  }
}

/** Text of an error body on one line, bounded (a JSON string body is unquoted). */
function oneLine(text: string): string {
  let value = text.trim();
  try {
    const parsed = JSON.parse(value) as unknown;
    if (typeof parsed === 'string') value = parsed;
    else if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') value = (parsed as { message: string }).message;
  } catch {
    /* plain text */
  }
  const flat = value.replace(/\s+/g, ' ').trim();
  return flat.length > DETAIL_MAX ? `${flat.slice(0, DETAIL_MAX - 1)}…` : flat;
}
