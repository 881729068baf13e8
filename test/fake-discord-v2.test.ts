/**
 * The fake Discord enforces Discord's documented Components V2 rules (fake-discord-components.ts), so the V2 tests
 * of the bridge can rely on it: a valid V2 message passes, and each rule broken on its own is refused with its
 * reason — over HTTP with the real discord.js REST and WebhookClient too (with_components, the flag on edits).
 */
import { MessageFlags, REST, Routes, WebhookClient } from 'discord.js';
import { startFakeDiscord, validateDiscordMessage, type FakeDiscord } from './helpers/fake-discord';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;
const V2 = 1 << 15;
const td = (content: string): Obj => ({ type: 10, content });
const link = (label = 'View in Panther', url = 'https://acme.runpanther.net/alerts/1'): Obj => ({ type: 2, style: 5, label, url });
const ack = (id = 'cb:acknowledge:1'): Obj => ({ type: 2, style: 1, label: 'Acknowledge', custom_id: id });

/** A valid alert-like V2 message: mention text display, container with section (link accessory), separator, texts, triage row. */
function valid(): Obj {
  return {
    flags: V2,
    allowed_mentions: { parse: [] },
    components: [
      {
        type: 17,
        accent_color: 0xcb2e2e,
        components: [
          { type: 9, components: [td('### 🔴 Root login')], accessory: link() },
          td('A root login without MFA'),
          { type: 14, divider: true, spacing: 1 },
          td('**Severity:** High'),
          { type: 1, components: [ack(), ack('cb:resolve:1')] },
        ],
      },
    ],
  };
}
const bot = { webhook: false, withComponents: false };
const plainHook = { webhook: true, withComponents: true };
const check = (body: Obj, opts = bot) => validateDiscordMessage(body, opts);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const container = (b: Obj): any[] => b.components[0].components;

describe('the fake Discord validates Components V2 messages', () => {
  it('accepts a valid V2 message from a bot, and its non-interactive form from a plain webhook', () => {
    expect(check(valid())).toEqual([]);
    const hook = valid();
    container(hook).pop();
    expect(check(hook, plainHook)).toEqual([]);
  });

  const cases: Array<[string, (b: Obj) => void, RegExp, typeof bot?]> = [
    ['content with the flag', (b) => (b.content = 'hi'), /^content: a Components V2 message cannot have content$/],
    ['embeds with the flag', (b) => (b.embeds = [{ title: 't' }]), /^embeds: a Components V2 message cannot have embeds$/],
    ['a section with no accessory', (b) => delete container(b)[0].accessory, /accessory: a section needs an accessory/],
    ['a section with 4 text displays', (b) => container(b)[0].components.push(td('a'), td('b'), td('c')), /a section holds 1–3 text displays \(got 4\)/],
    ['a section holding a separator', (b) => (container(b)[0].components = [{ type: 14 }]), /separator is not allowed in a section/],
    ['a select menu as accessory', (b) => (container(b)[0].accessory = { type: 3, custom_id: 'x' }), /a section accessory must be a button or a thumbnail/],
    ['a thumbnail outside an accessory', (b) => container(b).push({ type: 11, media: { url: 'https://acme.runpanther.net/x.png' } }), /a thumbnail is only allowed as a section accessory/],
    ['a container in a container', (b) => container(b).push({ type: 17, components: [td('x')] }), /container is not allowed in a container/],
    ['a bare button at the top level', (b) => b.components.push(link()), /a button must be in an action row or a section accessory/],
    ['an empty text display', (b) => (container(b)[1].content = ''), /content: must not be empty/],
    ['a text display over 4000', (b) => (container(b)[1].content = 'x'.repeat(4001)), /content: Must be 4000 or fewer in length/],
    ['4001 characters across text displays', (b) => b.components.push(td('x'.repeat(3990))), /text displays must hold 4000 or fewer characters in total \(got \d+\)/],
    ['41 components', (b) => container(b).push(...Array.from({ length: 31 }, (_, i) => td(`t${i}`))), /Must be 40 or fewer components in total \(got 41\)/],
    ['a duplicate custom_id', (b) => (container(b)[4].components[1].custom_id = 'cb:acknowledge:1'), /duplicate custom_id/],
    ['a custom_id over 100', (b) => (container(b)[4].components[0].custom_id = 'c'.repeat(101)), /custom_id: Must be 100 or fewer/],
    ['an accent colour out of range', (b) => (b.components[0].accent_color = 0x1000000), /accent_color must be an integer 0–16777215/],
    ['a separator spacing 3', (b) => (container(b)[2].spacing = 3), /spacing must be 1 \(small\) or 2 \(large\)/],
    ['the flag with no components', (b) => (b.components = []), /a Components V2 message needs at least one component/],
    ['an interactive button from a plain webhook', () => undefined, /webhooks cannot send interactive buttons/, plainHook],
    ['an interactive accessory from a plain webhook', (b) => { container(b).pop(); container(b)[0].accessory = ack(); }, /accessory: plain \(non-application-owned\) webhooks cannot send interactive buttons/, plainHook],
    ['a webhook V2 message without with_components', (b) => container(b).pop(), /flags: a webhook sends a Components V2 message only with \?with_components=true/, { webhook: true, withComponents: false }],
    ['a text display that pings', (b) => (container(b)[1].content = 'hey <@1600000000000000001>') && (b.allowed_mentions = { parse: [], users: ['1600000000000000001'] }), /^components: would ping: <@1600000000000000001>$/],
  ];
  test.each(cases)('refuses %s', (_name, breakIt, expected, opts = bot) => {
    const body = valid();
    breakIt(body);
    const problems = check(body, opts);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it('checks V2 components by the legacy rules when the flag is missing (top level must be action rows)', () => {
    const body = valid();
    delete body.flags;
    expect(check(body)).toEqual([expect.stringMatching(/components\[0\]\.type: top-level components must be action rows/)]);
  });
});

describe('the fake Discord over HTTP with the real discord.js', () => {
  let fake: FakeDiscord;
  let rest: REST;
  const hooks: WebhookClient[] = [];
  const CH = '1100000000000000001';
  const hook = (url: string): WebhookClient => {
    const [, id, token] = /webhooks\/(\d+)\/([\w-]+)$/.exec(url)!;
    const h = new WebhookClient({ id: id!, token: token! }, { rest: { api: fake.api, retries: 0 } });
    hooks.push(h);
    return h;
  };
  beforeEach(async () => {
    fake = await startFakeDiscord();
    rest = new REST({ version: '10', api: fake.api, retries: 0 }).setToken('discord-test-token');
  });
  afterEach(async () => {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
    for (const h of hooks.splice(0)) h.destroy();
    await fake.close();
  });

  it('keeps the flag through edits: removing it, or adding content, to a V2 message is refused', async () => {
    const posted = (await rest.post(Routes.channelMessages(CH), { body: valid() })) as { id: string };
    const edit = (body: Obj) => rest.patch(Routes.channelMessage(CH, posted.id), { body });
    await expect(edit({ ...valid(), allowed_mentions: { parse: [] } })).resolves.toMatchObject({ flags: V2 });
    await expect(edit({ flags: 0, components: valid().components, allowed_mentions: { parse: [] } })).rejects.toMatchObject({ status: 400, code: 50035 });
    await expect(edit({ content: 'Acked', allowed_mentions: { parse: [] } })).rejects.toMatchObject({ status: 400 });
    // An edit without the flag is still checked as V2: the message is one.
    await expect(edit({ components: [{ type: 1, components: [ack()] }, td('x')], allowed_mentions: { parse: [] } })).resolves.toBeDefined();
    const { components: _c, ...noMentions } = valid();
    await expect(edit({ ...noMentions, components: valid().components, allowed_mentions: undefined })).rejects.toMatchObject({ status: 400 });
    expect(fake.violations).toEqual([
      expect.stringContaining('flags: IS_COMPONENTS_V2 cannot be removed from a message'),
      expect.stringContaining('content: a Components V2 message cannot have content'),
      expect.stringContaining('allowed_mentions: allowed_mentions must be present'),
    ]);
  });

  it('lets an edit upgrade a legacy message only when it resets content and embeds', async () => {
    const posted = (await rest.post(Routes.channelMessages(CH), { body: { content: 'old', embeds: [{ title: 't' }], allowed_mentions: { parse: [] } } })) as { id: string };
    const edit = (body: Obj) => rest.patch(Routes.channelMessage(CH, posted.id), { body });
    await expect(edit(valid())).rejects.toMatchObject({ status: 400 });
    await expect(edit({ ...valid(), content: null, embeds: [] })).resolves.toMatchObject({ flags: V2 });
  });

  it('takes a V2 message from a webhook only with with_components=true, and only non-interactive', async () => {
    const url = fake.webhookUrl();
    const components = valid().components;
    components[0].components.pop();
    const flags = MessageFlags.IsComponentsV2;
    await expect(hook(url).send({ flags, components, allowedMentions: { parse: [] } })).rejects.toMatchObject({ code: 50035 });
    const sent = await hook(url).send({ flags, components, withComponents: true, allowedMentions: { parse: [] } });
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0]).toMatchObject({ withComponents: true, body: { flags: V2 } });
    await expect(hook(url).editMessage(sent.id, { components: valid().components, withComponents: true, allowedMentions: { parse: [] } })).rejects.toMatchObject({ code: 50035 });
    expect(fake.violations).toEqual([
      expect.stringContaining('flags: a webhook sends a Components V2 message only with ?with_components=true'),
      expect.stringContaining('components[0].components[4].components[0]: plain (non-application-owned) webhooks cannot send interactive buttons'),
      expect.stringContaining('components[0].components[4].components[1]: plain (non-application-owned) webhooks cannot send interactive buttons'),
    ]);
  });
});
