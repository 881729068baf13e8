/**
 * zod schema of the chatops-bridge YAML config (see the "Config" contract in ARCHITECTURE.md).
 *
 * Every object is strict so a typo (`chanel:`) is reported instead of silently ignored, and every optional section
 * is defaulted so consumers read a complete `Config`. Messages never echo the offending value: several fields are
 * secrets, and the loader's messages end up in logs and CI output.
 */
import { z } from 'zod';
import { SLACK_CHANNEL_PATTERN, DISCORD_SNOWFLAKE_PATTERN, DISCORD_WEBHOOK_URL_PATTERN, HEADER_NAME_PATTERN, fromText, int, bool, text, optionalText, httpUrl, name, templateName } from './schema-primitives';
import { routeSchema } from './schema-routes';
import { labelSourceSchema } from './schema-sources';
import { forumSchema } from './schema-forum';
import { SERVE_ROLES } from './serve-role';

export { NAME_PATTERN, SLACK_CHANNEL_PATTERN, DISCORD_SNOWFLAKE_PATTERN, DISCORD_WEBHOOK_URL_PATTERN } from './schema-primitives';

// ---------------------------------------------------------------------------------------------------------------

const serverSchema = z
  .object({
    port: int(0, 65535).default(8080), // 0 = any free port (tests, sidecars)
    host: text().default('0.0.0.0'),
    shutdownTimeoutMs: int(0).default(10_000),
    /** How often /readyz re-checks the Slack and Discord tokens. */
    tokenCheckIntervalMs: int(1000).default(60_000),
    /** When set, GET /metrics requires `Authorization: Bearer <metricsToken>` (401 otherwise). */
    metricsToken: optionalText(text()),
    /**
     * A client must send its request headers within this time and its whole request within requestTimeoutMs, or
     * gets a 408 / closed connection: a client dribbling bytes must not hold a connection (and, for the body, a
     * buffer) open for Node's defaults of 60 s and 5 min.
     */
    headersTimeoutMs: int(1).default(10_000),
    requestTimeoutMs: int(1).default(30_000),
    /**
     * What this process does (serve-role.ts): receive and deliver (`all`), or, on PostgreSQL, only one of them, so
     * receivers and workers scale apart. `serve --role` wins over it.
     */
    role: z.enum(SERVE_ROLES, { error: `must be one of ${SERVE_ROLES.join(', ')}` }).default('all'),
  })
  .strict()
  // Node refuses to start a server otherwise; `check` should say so first.
  .refine((server) => server.headersTimeoutMs <= server.requestTimeoutMs, {
    error: 'headersTimeoutMs must not be larger than requestTimeoutMs',
    path: ['headersTimeoutMs'],
  });

/** Where `serve` keeps its outbox: a SQLite file (one process), or a PostgreSQL database (several replicas). */
export type StoreConfig = { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string };

const storeSchema = z
  .object({
    path: text().optional(),
    url: text()
      .regex(/^postgres(ql)?:\/\/\S+$/, { error: 'must be a PostgreSQL URL, e.g. postgres://bridge:${DB_PASSWORD}@db:5432/chatops' })
      .optional(),
  })
  .strict()
  .refine((store) => store.path === undefined || store.url === undefined, { error: 'set either path (a SQLite file) or url (PostgreSQL), not both' })
  .transform((store): StoreConfig => (store.url !== undefined ? { engine: 'postgres', url: store.url } : { engine: 'sqlite', path: store.path ?? './data/chatops-bridge.db' }));

const pantherAuthSchema = z
  .object({
    header: text()
      .regex(HEADER_NAME_PATTERN, { error: 'must be a valid HTTP header name, e.g. X-Panther-Token' })
      .default('X-Panther-Token'),
    tokens: z
      .array(text(), { error: 'must be a list of tokens, e.g. tokens: ["${PANTHER_WEBHOOK_TOKEN}"]' })
      .min(1, { error: 'needs at least one token (several are allowed, for rotation)' }),
  })
  .strict();

const pantherSourceSchema = z
  .object({
    path: text()
      // Only unreserved characters and "/": Express 5 (path-to-regexp) treats ( ) [ ] { } : * + ? ! \ as syntax, and a
      // path like "/hooks/(panther" would pass `check` but crash `serve`.
      .regex(/^\/[A-Za-z0-9._~\/-]*$/, {
        error: 'must be a URL path starting with "/" and containing only letters, digits and . _ ~ - /',
      })
      .default('/webhooks/panther'),
    bodyLimitBytes: int(1).default(1_048_576),
    auth: pantherAuthSchema.optional(),
  })
  .strict();

const sourcesSchema = z
  .object({
    panther: pantherSourceSchema.optional(),
    alertmanager: labelSourceSchema('/webhooks/alertmanager').optional(),
    grafana: labelSourceSchema('/webhooks/grafana').optional(),
  })
  .strict();

const slackSchema = z
  .object({
    // Required when a `slack:` section exists; a token not starting with "xox" is only a warning (see load.ts).
    token: text('the Slack bot token (xoxb-…)'),
    signingSecret: optionalText(text()),
    apiUrl: optionalText(httpUrl()),
    botId: optionalText(text()),
    botUserId: optionalText(text()),
  })
  .strict();

const discordSchema = z
  .object({
    token: optionalText(text()),
    publicKey: optionalText(
      text().regex(/^[0-9a-fA-F]{64}$/, { error: 'must be the 64-hex-character Ed25519 public key' }),
    ),
    apiUrl: optionalText(httpUrl()),
  })
  .strict();

const templatesSchema = z.object({ dir: text().default('./templates') }).strict();

const backoffSchema = z
  .object({
    initialMs: int(1).default(1_000),
    maxMs: int(1).default(300_000),
    factor: z
      .preprocess(fromText, z.number({ error: 'must be a number' }).min(1, { error: 'must be at least 1' }))
      .default(2),
  })
  .strict();

const deliverySchema = z
  .object({
    concurrency: int(1, 1000).default(8),
    // Unset: retryable failures are bounded by maxAgeMs only, so an outage of hours delays alerts, never kills them.
    maxAttempts: int(1).optional(),
    maxAgeMs: int(1).default(86_400_000),
    backoff: backoffSchema.prefault({}),
    requestTimeoutMs: int(1).default(10_000),
    leaseMs: int(1).default(60_000),
    /**
     * Longest an idle delivery worker sleeps before it looks at the store again. New work wakes it at once (an
     * accept in this process; on PostgreSQL, a NOTIFY from another); the poll is the fallback that finds work
     * nothing announced.
     */
    idlePollMs: int(100, 600_000).default(1000),
    /**
     * SQLite store file: deliver in a worker thread with its own connection, so the webhooks' event loop never waits
     * for rendering, SDK requests or delivery bookkeeping. False delivers on the main event loop (one thread less,
     * about 20 MB less memory). Ignored on PostgreSQL (`serve --role` splits the sides there) and in memory.
     */
    thread: bool().default(true),
  })
  .strict();

/**
 * How a Discord destination lays an alert out: `embed` (the default: content with the route's mentions, an embed,
 * button rows) or `v2` (a Components V2 message: a container with the severity accent, text displays, the link
 * button beside the title). V2 stays opt-in: its pings notify phones without any text (discord-api-docs#7854).
 */
export const DISCORD_LAYOUTS = ['embed', 'v2'] as const;
const discordLayout = () => z.enum(DISCORD_LAYOUTS, { error: `must be one of ${DISCORD_LAYOUTS.join(', ')}` }).default('embed');

/** Optional per-destination pace override; the defaults follow each platform's per-channel rule. */
const paceSchema = z
  .object({
    limit: int(1, 1000),
    windowMs: int(1, 3_600_000),
  })
  .strict();

const slackDestinationSchema = z
  .object({
    type: z.literal('slack'),
    channel: text('a Slack channel id like C0123456789').regex(SLACK_CHANNEL_PATTERN, {
      error: 'must be a Slack channel id (C…, G… or D…, e.g. C0123456789) or a #channel-name',
    }),
    template: templateName().optional(),
    pace: paceSchema.optional(),
  })
  .strict();

const discordDestinationSchema = z
  .object({
    type: z.literal('discord'),
    channel: z
      .string({
        // A snowflake is larger than 2^53: as a YAML number it has already lost its last digits, so only quoting helps.
        error: (iss) =>
          typeof iss.input === 'number'
            ? 'must be a quoted string: as a YAML number a Discord id loses precision — ' +
              'write channel: "112233445566778899"'
            : 'must be a Discord channel id (17–20 digits, quoted)',
      })
      .regex(DISCORD_SNOWFLAKE_PATTERN, { error: 'must be a Discord channel id: 17–20 digits' }),
    template: templateName().optional(),
    pace: paceSchema.optional(),
    /** How posts are tagged and closed when the channel is a forum or media channel (read from Discord). */
    forum: forumSchema.optional(),
    layout: discordLayout(),
  })
  .strict();

const discordWebhookDestinationSchema = z
  .object({
    type: z.literal('discord-webhook'),
    // The message must not echo the URL: its last segment is the webhook's secret token.
    url: z
      .string({ error: 'must be a Discord webhook URL (https://discord.com/api/webhooks/<id>/<token>)' })
      .regex(DISCORD_WEBHOOK_URL_PATTERN, {
        error: 'must be a Discord webhook URL like https://discord.com/api/webhooks/<id>/<token>',
      }),
    template: templateName().optional(),
    pace: paceSchema.optional(),
    layout: discordLayout(),
  })
  .strict();

const consoleDestinationSchema = z.object({ type: z.literal('console'), template: templateName().optional() }).strict();

const destinationSchema = z.discriminatedUnion(
  'type',
  [slackDestinationSchema, discordDestinationSchema, discordWebhookDestinationSchema, consoleDestinationSchema],
  { error: 'must be one of slack, discord, discord-webhook, console' },
);

/**
 * Write-back of triage actions to Panther's GraphQL API. `users` maps chat users ("slack:U…", "discord:…") to
 * a Panther user id or email; unmapped Slack users are looked up by their Slack profile email.
 */
const pantherWritebackSchema = z
  .object({
    api: z
      .object({
        url: httpUrl(),
        token: text('the Panther API token'),
        // At most 35 s: a write-back's (up to three) calls must end within the 120 s lease a replica holds it for.
        timeoutMs: int(1, 35_000).default(10_000),
      })
      .strict(),
    users: z.record(text(), text()).optional(),
    statuses: z
      .object({
        acknowledge: z.enum(['OPEN', 'TRIAGED', 'CLOSED', 'RESOLVED']).default('TRIAGED'),
        resolve: z.enum(['OPEN', 'TRIAGED', 'CLOSED', 'RESOLVED']).default('RESOLVED'),
      })
      .strict()
      .prefault({}),
    /** Give up on a write-back after this long (it is shown as failed in the messages). */
    maxAgeMs: int(1).default(86_400_000),
  })
  .strict();

/** Operator endpoints (/admin/outbox); off unless a token is configured. */
const adminSchema = z
  .object({
    tokens: z
      .array(text(), { error: 'must be a list of tokens, e.g. tokens: ["${ADMIN_TOKEN}"]' })
      .min(1, { error: 'needs at least one token' }),
  })
  .strict();

/**
 * The web console at /console (docs/web-console.md): off unless enabled. Each user signs in with a token (HTTP
 * Bearer, or as the password of Basic auth) or a username and password (Basic); admins may resend and save
 * templates, viewers only look.
 */
const consoleUserSchema = z
  .object({
    token: optionalText(text()),
    username: optionalText(text()),
    password: optionalText(text()),
    role: z.enum(['admin', 'viewer'], { error: 'must be admin or viewer' }).default('viewer'),
  })
  .strict()
  .refine((u) => (u.token !== undefined) !== (u.username !== undefined || u.password !== undefined), {
    error: 'give either token, or username and password',
  })
  .refine((u) => u.token !== undefined || (u.username !== undefined && u.password !== undefined), {
    error: 'username and password go together',
  });

const consoleSchema = z
  .object({
    enabled: bool().default(false),
    users: z.array(consoleUserSchema, { error: 'must be a list of users, e.g. [{ token: "${CONSOLE_ADMIN_TOKEN}", role: admin }]' }).default([]),
    /** Discord guild (server) id: makes "open message" links for Discord deliveries (Discord links need it). */
    discordGuildId: optionalText(text().regex(DISCORD_SNOWFLAKE_PATTERN, { error: 'must be a Discord id (17–20 digits, quoted)' })),
  })
  .strict()
  .refine((c) => !c.enabled || c.users.length > 0, { error: 'an enabled console needs at least one user', path: ['users'] });

/** The whole config file. Parse with `configSchema.safeParse`; prefer `loadConfigText` for line-precise problems. */
export const configSchema = z
  .object({
    server: serverSchema.prefault({}),
    store: storeSchema.prefault({}),
    sources: sourcesSchema.prefault({}),
    slack: slackSchema.optional(),
    discord: discordSchema.optional(),
    templates: templatesSchema.prefault({}),
    delivery: deliverySchema.prefault({}),
    admin: adminSchema.optional(),
    console: consoleSchema.prefault({}),
    panther: pantherWritebackSchema.optional(),
    destinations: z.record(name('a destination name'), destinationSchema, {
      error: 'must be a map of destination name to { type: …, … }',
    }),
    routes: z
      .array(routeSchema, { error: 'must be a list of routes' })
      .min(1, { error: 'needs at least one route' }),
  }, { error: 'the config must be a map of sections (server, sources, destinations, routes, …)' })
  .strict();

export type { ForumConfig } from './schema-forum';

/** A validated config with every default applied. */
export type Config = z.output<typeof configSchema>;
/** One entry of `destinations`, discriminated on `type`. */
export type DestinationConfig = Config['destinations'][string];
/** The `type` values a destination may have. */
export type DestinationType = DestinationConfig['type'];
/** One entry of `routes` (ordered; first match wins unless `continue: true`). */
export type RouteConfig = Config['routes'][number];
/** A route's `match` block; absent criteria match everything. */
export type RouteMatch = NonNullable<RouteConfig['match']>;

// --- schema introspection for "did you mean" hints -------------------------------------------------------------

/** The parts of a zod 4 schema definition the walk below reads. */
interface LooseDef {
  type: string;
  innerType?: z.ZodType;
  out?: z.ZodType;
  options?: z.ZodType[];
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  values?: unknown[];
}
const defOf = (s: z.ZodType): LooseDef => s._zod.def as unknown as LooseDef;

/** Strip optional/default/pipe wrappers; for a union pick the branch whose `type` literal matches the input. */
function unwrap(schema: z.ZodType, value: unknown): z.ZodType | undefined {
  for (let s: z.ZodType | undefined = schema; s; ) {
    const def = defOf(s);
    if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe') s = def.out;
    else if (def.type === 'union') {
      // Destination variants are told apart by their `type` literal; fall back to the first object variant.
      const wanted = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
      const objects = (def.options ?? [])
        .map((o) => unwrap(o, value))
        .filter((o): o is z.ZodType => o !== undefined && defOf(o).type === 'object');
      const typeLiteral = (o: z.ZodType) => defOf(o).shape?.type;
      return objects.find((o) => defOf(typeLiteral(o) ?? o).values?.includes(wanted)) ?? objects[0];
    } else return s;
  }
  return undefined;
}

/**
 * Keys allowed in the object at `path` of the config (`raw` is the unvalidated input, used to pick the destination
 * variant by its `type`). Returns [] when the path does not lead to an object schema.
 */
export function knownKeysAt(path: readonly (string | number)[], raw: unknown): string[] {
  let schema: z.ZodType | undefined = configSchema;
  let value = raw;
  for (let i = 0; schema; i++) {
    schema = unwrap(schema, value);
    if (!schema) break;
    const def = defOf(schema);
    if (i === path.length) return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
    const key = path[i]!;
    value = typeof value === 'object' && value !== null ? (value as Record<string | number, unknown>)[key] : undefined;
    if (def.type === 'object') schema = def.shape?.[String(key)];
    else if (def.type === 'record') schema = def.valueType;
    else if (def.type === 'array') schema = def.element;
    else break;
  }
  return [];
}
