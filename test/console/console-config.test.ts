/** The `console` config section: validated with line numbers like the rest, secrets never echoed. */
import { loadConfigText } from '../../src/config/load';
import { configSecrets } from '../../src/bridge';

const base = `destinations: { out: { type: console } }
routes: [{ name: all, to: [out] }]
`;

describe('console config', () => {
  it('is off by default and needs a user when enabled', () => {
    const off = loadConfigText(base, {});
    expect(off.ok && off.config.console).toEqual({ enabled: false, users: [] });
    const empty = loadConfigText(`${base}console:\n  enabled: true\n`, {});
    expect(empty.ok).toBe(false);
    expect(!empty.ok && empty.problems).toContainEqual({ path: 'console.users', line: 3, message: 'an enabled console needs at least one user' });
  });

  it('takes token users and username/password users with a role, and reports a mixed or half user by line', () => {
    const yaml = `${base}console:
  enabled: true
  users:
    - { token: "\${ADMIN}", role: admin }
    - { username: ann, password: "\${PW}" }
`;
    const ok = loadConfigText(yaml, { ADMIN: 'admin-secret-token', PW: 'ann-secret-pw' });
    expect(ok.ok && ok.config.console.users).toEqual([{ token: 'admin-secret-token', role: 'admin' }, { username: 'ann', password: 'ann-secret-pw', role: 'viewer' }]);
    expect(ok.ok && configSecrets(ok.config)).toEqual(expect.arrayContaining(['admin-secret-token', 'ann-secret-pw']));

    const bad = loadConfigText(`${base}console:
  enabled: true
  users:
    - { token: t0ken-value, username: ann, password: pw-value, role: boss }
    - { username: bob }
`, {});
    expect(bad.ok).toBe(false);
    const problems = !bad.ok ? bad.problems : [];
    expect(problems).toContainEqual({ path: 'console.users[0].role', line: 6, message: 'must be admin or viewer' });
    expect(problems).toContainEqual({ path: 'console.users[1]', line: 7, message: 'username and password go together' });
    expect(JSON.stringify(problems)).not.toMatch(/t0ken-value|pw-value/);
  });
});
