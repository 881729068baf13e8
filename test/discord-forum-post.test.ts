/**
 * The pure half of Discord forum posts: the title (plain text, sanitised, fitted to 100), the tag names from
 * `forum.tags`, and the signature that recognises an alert's starter message whatever its triage state.
 */
import { forumPostTitle, forumTagNames, messageSignature, configuredTagNames, findTag, FORUM_POST, attachForumPost, forumPostOf } from '../src/destinations/discord-forum-post';
import { parsedAlert } from './helpers/fixtures';

const alert = (overrides: Record<string, unknown> = {}) => parsedAlert({ link: 'https://acme.runpanther.net/alerts/1', ...overrides });

describe('forumPostTitle', () => {
  it('keeps an ordinary title as it is', () => {
    expect(forumPostTitle(alert({ title: 'Root login from 203.0.113.7 [prod]' }))).toBe('Root login from 203.0.113.7 [prod]');
  });

  it('breaks pings, mention tokens, masked links and markdown pairs invisibly, defangs foreign links, and flattens lines', () => {
    const title = forumPostTitle(alert({ title: '# @here\n<@1234> <#1> **b** __u__ ||x|| [a](https://evil.example/x)\u202e' }));
    expect(title).toBe('\u200b# @\u200bhere <\u200b@1234> <\u200b#1> *\u200b*b*\u200b* _\u200b_u_\u200b_ |\u200b|x|\u200b| [a]\u200b(hxxps://evil[.]example/x)');
    expect(forumPostTitle(alert({ title: 'see https://acme.runpanther.net/ok' }))).toBe('see https://acme.runpanther.net/ok');
    expect(forumPostTitle(alert({ title: 'see https://evil.example/x' }), false)).toBe('see https://evil.example/x');
  });

  it('fits 100 characters with a visible … and never splits a surrogate pair or a broken mention', () => {
    const emoji = forumPostTitle(alert({ title: '😀'.repeat(80) }));
    expect(emoji.length).toBeLessThanOrEqual(100);
    expect(emoji.endsWith('😀…')).toBe(true);
    const mention = forumPostTitle(alert({ title: `${'x'.repeat(98)}@everyone` }));
    expect(mention).toBe(`${'x'.repeat(98)}…`);
  });

  it('falls back to the detection when the title is blank', () => {
    expect(forumPostTitle(alert({ title: ' \n\t', name: 'Root Activity' }))).toBe('Root Activity');
    expect(forumPostTitle(alert({ title: '\u0000', name: undefined, id: 'AWS.Root' }))).toBe('AWS.Root');
  });
});

describe('forumTagNames', () => {
  const config = { archiveOnResolve: false, tags: { severity: { CRITICAL: 'critical', HIGH: 'high' }, alertTags: { aws: 'AWS', IAM: 'identity', 'team=db': 'Database', gcp: 'AWS' }, default: 'alert' } };

  it('puts the severity first, then alert tags (case-insensitively, in the alert’s order), each name once', () => {
    expect(forumTagNames(alert({ severity: 'HIGH', tags: ['iam', 'AWS', 'GCP', 'other'] }), config)).toEqual({ names: ['high', 'identity', 'AWS'], dropped: [] });
  });

  it('uses the default only when nothing matched, and nothing without a config', () => {
    expect(forumTagNames(alert({ severity: 'LOW', tags: ['other'] }), config).names).toEqual(['alert']);
    expect(forumTagNames(alert({ severity: 'LOW', tags: [] }), undefined).names).toEqual([]);
  });

  it('applies at most 5 and names the rest', () => {
    const many = { archiveOnResolve: false, tags: { alertTags: Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((t) => [t, t.toUpperCase()])) } };
    expect(forumTagNames(alert({ tags: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] }), many)).toEqual({ names: ['A', 'B', 'C', 'D', 'E'], dropped: ['F', 'G'] });
  });

  it('lists every configured name once, and finds a tag by exact name first, else case-insensitively', () => {
    expect(configuredTagNames(config)).toEqual(['critical', 'high', 'AWS', 'identity', 'Database', 'alert']);
    const available = [{ id: '1', name: 'aws' }, { id: '2', name: 'AWS' }];
    expect(findTag(available, 'AWS')?.id).toBe('2');
    expect(findTag(available, 'Aws')?.id).toBe('1');
    expect(findTag(available, 'gcp')).toBeUndefined();
  });
});

describe('forum post info on a body', () => {
  it('rides on the body unseen by JSON and spreads', () => {
    const body = attachForumPost({ content: 'x' }, { title: 't', tags: [], resolved: false, alertAtMs: 1 });
    expect(forumPostOf(body)).toEqual({ title: 't', tags: [], resolved: false, alertAtMs: 1 });
    expect(JSON.stringify(body)).toBe('{"content":"x"}');
    expect(FORUM_POST in { ...body }).toBe(false);
  });

  it('may be made only when a send reads it', () => {
    const make = jest.fn(() => ({ title: 't', tags: [], resolved: false, alertAtMs: 1 }));
    const body = attachForumPost({ content: 'x' }, make);
    expect(make).not.toHaveBeenCalled();
    expect(JSON.stringify(body)).toBe('{"content":"x"}');
    expect(forumPostOf(body)).toEqual({ title: 't', tags: [], resolved: false, alertAtMs: 1 });
    expect(make).toHaveBeenCalledTimes(1);
  });
});

describe('messageSignature', () => {
  const sent = { embeds: [{ title: 'T', description: 'D', url: 'https://a.example/1', color: 1, fields: [{ name: 'Severity', value: 'HIGH' }], footer: { text: 'Panther' }, timestamp: '2024-01-01T00:00:00.000Z' }] };
  it('is the same for the message as Discord gives it back, whatever its state line and colour', () => {
    const back = { content: '', embeds: [{ type: 'rich', ...sent.embeds[0], color: 2, fields: [{ name: '✅ Resolved', value: 'by ann' }], timestamp: '2024-01-01T00:00:00+00:00' }] };
    expect(messageSignature(back)).toBe(messageSignature(sent));
  });
  it('is the same once a resolution has rewritten the title and description (the retry of a post made unseen)', () => {
    const resolved = { embeds: [{ ...sent.embeds[0], title: '✅ T', description: 'D, now 3%' }] };
    expect(messageSignature(resolved)).toBe(messageSignature(sent));
  });
  it('compares title and description when the embeds have no link, footer or time to tell alerts apart', () => {
    const bare = (description: string) => ({ embeds: [{ title: 'T', description }] });
    expect(messageSignature(bare('on host a'))).not.toBe(messageSignature(bare('on host b')));
    expect(messageSignature(bare('on host a'))).toBe(messageSignature({ embeds: [{ title: ' T ', description: 'on host a', color: 3 }] }));
  });
  it('differs for another alert (another link)', () => {
    expect(messageSignature({ embeds: [{ ...sent.embeds[0], url: 'https://a.example/2' }] })).not.toBe(messageSignature(sent));
  });
});
