/**
 * Links in messages: which keys of Slack's and Discord's message formats hold a URL, which hosts an alert may link
 * to, and defanging — the security convention of writing a URL so no client makes it clickable
 * (`hxxps://evil[.]example/x`), for the attacker URLs that security alerts routinely carry.
 */
import { alertUrls, type Alert } from '../domain/alert';
import { memoByString } from './memo';

/**
 * Every key of the two platforms' message formats whose value is a URL the client links to or loads. The sanitiser
 * (sanitize.ts) lets such a value through only when it points at one of the alert's own hosts, wherever it sits in
 * the message, so a template that fills one from alert data cannot put a foreign link or image in a message.
 * Sources: @slack/types (message-attachments.d.ts, block-kit/*.d.ts, message-metadata.d.ts), @slack/web-api
 * chat.postMessage arguments, discord-api-types payloads/v10 (embeds, components) and rest/v10 webhook.
 */
export const URL_KEYS: ReadonlySet<string> = new Set([
  // Both: Slack buttons, rich-text links, image/file objects (`slack_file.url`); Discord embed `url`, `image.url`,
  // `thumbnail.url`, `video.url`, `author.url`, `provider.url`, link buttons, media and file components.
  'url',
  // Slack Block Kit: image block and image element; video block.
  'image_url',
  'video_url',
  'thumbnail_url',
  'title_url',
  'provider_icon_url',
  // Slack secondary attachments.
  'title_link',
  'author_link',
  'author_icon',
  'thumb_url',
  'footer_icon',
  'from_url',
  'original_url',
  'service_icon',
  'service_url',
  'app_unfurl_url',
  // Slack chat.postMessage: the message's own icon; message metadata (work objects).
  'icon_url',
  'link',
  'entity_url',
  'preview_url',
  // Discord: embed `author.icon_url`, `footer.icon_url` (icon_url above); webhook execute `avatar_url`; the proxied
  // forms Discord returns (never needed in a request, never allowed to point elsewhere).
  'avatar_url',
  'proxy_url',
  'proxy_icon_url',
]);

/**
 * The host a client opens for `scheme` (`http` / `https`) and the authority text after `scheme:` and its slashes
 * (up to the first `/`, `?`, `#` or ASCII white space), or null when that depends on who reads it. Fails closed:
 * - user info (`@`), a backslash or percent-encoding anywhere in the authority: WHATWG and other URL parsers (and
 *   the autolinkers in front of them, which end a URL at different characters) disagree on the host, so null;
 * - otherwise the leading host-name characters (ASCII letters, digits, `.`, `-`, or any non-ASCII character that is
 *   not white space, for IDN) and an optional `:port` are parsed with the WHATWG URL parser, as a browser would: the
 *   result is lower-case, IDN in punycode, full-width dots mapped, default ports dropped. What follows them (`)`,
 *   `"`, `,`…) cannot change that host: a client either ends the URL there or opens a host name no DNS has.
 * A trailing dot is dropped (`example.com.` is `example.com` to DNS).
 */
export function authorityHost(scheme: string, authority: string): string | null {
  if (/[@\\%]/.test(authority)) return null;
  const head = /^(?:[A-Za-z0-9.-]|(?![\s\u0000-\u007f])[^])+(?::\d+)?/u.exec(authority)?.[0];
  if (!head) return null;
  // Plain ASCII without the parser (alert text may hold thousands of URLs): lower-case, the default port dropped.
  // The same as WHATWG's result whenever that result is an own host (parsing a parsed host gives it back); for
  // hosts WHATWG would rewrite (`0x7f.1`, `xn--` labels) it may differ, and then the URL is only defanged.
  const ascii = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(head);
  if (ascii) {
    const hostname = ascii[1]!.toLowerCase().replace(/\.$/, '');
    const port = ascii[2] === undefined ? '' : String(Number(ascii[2]));
    if (hostname === '' || Number(port) > 65535) return null;
    return port === '' || port === DEFAULT_PORT[scheme.toLowerCase()] ? hostname : `${hostname}:${port}`;
  }
  try {
    const parsed = new URL(`${scheme.toLowerCase()}://${head}/`);
    return hostKey(parsed);
  } catch {
    return null;
  }
}

const DEFAULT_PORT: Record<string, string> = { http: '80', https: '443' };

/** `host[:port]` of a parsed URL, lower-case, without a trailing dot. */
function hostKey(parsed: URL): string | null {
  const hostname = parsed.hostname.replace(/\.$/, '');
  if (hostname === '') return null;
  return (parsed.port ? `${hostname}:${parsed.port}` : hostname).toLowerCase();
}

/**
 * Host of an absolute `http://` / `https://` URL as {@link authorityHost} reads it; null for anything else (another
 * scheme, other slashes, user info, a backslash or `%` in the authority, a URL that does not parse).
 */
export const hostOf: (url: string) => string | null = memoByString((url) => {
  const m = /^(https?):\/\/([^/?#\s]*)(?=[/?#]|$)/i.exec(url);
  if (!m || authorityHost(m[1]!, m[2]!) === null) return null;
  try {
    return hostKey(new URL(url));
  } catch {
    return null;
  }
});

/** The hosts an alert's own links live on: its link's, its runbook's (when a URL) and its extra links'. */
export function alertHosts(alert: Pick<Alert, 'link' | 'runbook' | 'links'>): string[] {
  return alertUrls(alert).flatMap((url) => {
    const host = hostOf(url);
    return host ? [host] : [];
  });
}

/** {@link alertHostSet} per alert object: a message asks for them several times (its values, the sanitiser, a title). */
const hostSets = new WeakMap<object, ReadonlySet<string>>();

/** {@link alertHosts} as a set, worked out once per alert object (alerts are not changed once parsed). */
export function alertHostSet(alert: Pick<Alert, 'link' | 'runbook' | 'links'>): ReadonlySet<string> {
  let hosts = hostSets.get(alert);
  if (!hosts) {
    hosts = new Set(alertHosts(alert));
    hostSets.set(alert, hosts);
  }
  return hosts;
}

/**
 * Where a link can start in text: `http:` / `https:` followed by any run of `/` and `\` (WHATWG reads
 * `https:/\host` as `https://host`; autolinkers need no word boundary), or a scheme-less `www.` host that does not
 * continue a word (GitHub-flavoured Markdown autolinks those; Slack's parser linked `www.domain.com` in user
 * messages, slackapi/hubot-slack#181; Discord needs a scheme, discord/discord-api-docs#542, but the rule is the
 * same for both). Bare `example.com` is deliberately not matched: see {@link defangUrls}.
 */
const LINK_START = /https?:[/\\]+|(?<![\p{L}\p{N}_-])www\.(?=[\p{L}\p{N}_-])/giu;
/** A nested scheme start: an authority ends before it so that URL is judged on its own. */
const NESTED_SCHEME = /https?:[/\\]/iy;
/** Longest authority judged; a longer one (no host name is) is defanged. */
const MAX_AUTHORITY = 300;
const DOTS = /[.\u3002\uff0e\uff61]/g;

/** End of the authority starting at `from`: ASCII white space, `/`, `?`, `#`, a nested scheme, or the cap. */
function authorityEnd(text: string, from: number): number {
  const limit = Math.min(text.length, from + MAX_AUTHORITY + 1);
  let i = from;
  for (; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x2f || c === 0x3f || c === 0x23) break;
    // Also at `from`: `http:/https://evil` is two links, and the second must be judged (and defanged) on its own.
    if (c === 0x68 || c === 0x48) {
      NESTED_SCHEME.lastIndex = i;
      if (NESTED_SCHEME.test(text)) break;
    }
  }
  return i;
}

/** A link found in text: where it starts, where its host part ends, the host a client opens (null: unsure). */
interface FoundLink {
  start: number;
  /** The scheme as written (`https:`, `HTTP:`), '' for a `www.` host. */
  scheme: string;
  /** End of the scheme and its slashes (= start for `www.`). */
  hostStart: number;
  /** End of the part that is defanged: the authority, or the `www.` host name. */
  end: number;
  host: string | null;
}

/** Every link start in `text`, in order, with its host as a client would open it. */
function* linksIn(text: string): Generator<FoundLink> {
  const starts = new RegExp(LINK_START); // own lastIndex: callers may interleave
  for (let m = starts.exec(text); m !== null; m = starts.exec(text)) {
    const start = m.index;
    if (m[0].toLowerCase().startsWith('http')) {
      const hostStart = start + m[0].length;
      const end = authorityEnd(text, hostStart);
      const scheme = /^https?:/i.exec(m[0])![0];
      const host = end - hostStart > MAX_AUTHORITY ? null : authorityHost(scheme.slice(0, -1), text.slice(hostStart, end));
      yield { start, scheme, hostStart, end, host };
      // Go on after the authority: a `www.` in it is this host; one in the path is judged on its own.
      starts.lastIndex = end;
    } else {
      const name = /^(?:[\p{L}\p{N}_.-]|(?![\s\u0000-\u007f])[^])*/u.exec(text.slice(start, start + MAX_AUTHORITY + 1))![0];
      const end = start + name.replace(/[._-]+$/, '').length;
      yield { start, scheme: '', hostStart: start, end, host: name.length > MAX_AUTHORITY ? null : authorityHost('http', text.slice(start, end)) };
      starts.lastIndex = end;
    }
  }
}

const ANY_LINK_START = /https?:|www\./i;

/** False when `text` holds no {@link LINK_START} at all, so {@link defangUrls} returns it unchanged. */
export function mayHoldLinks(text: string): boolean {
  return ANY_LINK_START.test(text);
}

/**
 * `text` with every link whose host is not in `allowed` defanged, so no client makes it clickable:
 * `https://evil.example/x` → `hxxps://evil[.]example/x`, `www.evil.example` → `www[.]evil[.]example` (the scheme
 * no client links, the dots no tool resolves; full-width dots too); the rest is kept so analysts can still read and
 * copy it. A link stays live only when {@link authorityHost} says which host a client opens and that host is an
 * own one (`allowed`, as {@link hostOf} gives them); user info, backslashes, `%` in the host part or a host the
 * parser refuses are defanged. Links are found by {@link LINK_START}: `http(s):` with any slashes, and `www.` hosts.
 * Bare domains (`evil.com`) are left alone: neither client links them in what the bridge sends (Discord links only
 * URLs with a scheme; Slack's parser that links bare domains is off with `parse: "none"` and `verbatim: true`, which
 * fit-slack.ts sets on every message), and telling `evil.com` from `config.yaml` or `1.2.3` needs a list of TLDs
 * that misfires (`.zip`, `.sh`, `.py`). docs/templates.md lists the sources.
 * `onDefang` hears each link it changed (for the console's preview notes).
 */
export function defangUrls(text: string, allowed: ReadonlySet<string>, onDefang?: (url: string) => void): string {
  if (!mayHoldLinks(text)) return text;
  let out = '';
  let done = 0;
  for (const link of linksIn(text)) {
    if (link.host !== null && allowed.has(link.host)) continue;
    onDefang?.(text.slice(link.start, link.end));
    const scheme = link.scheme.replace(/t/g, 'x').replace(/T/g, 'X');
    out += text.slice(done, link.start) + scheme + text.slice(link.start + link.scheme.length, link.hostStart) + text.slice(link.hostStart, link.end).replace(DOTS, '[.]');
    done = link.end;
  }
  return done === 0 ? text : out + text.slice(done);
}

/**
 * True when `label` (link text, as shown) names a host other than `host`, or one whose reading depends on the
 * parser: a URL or `www.` host in it that is not `host` (defanged ones name nothing). Such a link shows one place
 * and opens another, so the sanitiser defuses it even when it points at the alert's own host.
 */
export function labelShowsOtherHost(label: string, host: string): boolean {
  for (const link of linksIn(label)) if (link.host !== host) return true;
  return false;
}
