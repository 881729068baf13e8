/**
 * Console sign-in (`identify`): who each combination of credentials proves, and that the work done does not depend
 * on which user or which field was wrong. Timing itself is not asserted (it is noise on a shared machine); the
 * number of constant-time comparisons is what the timing follows, so that is what is counted.
 */
import crypto from 'node:crypto';
import { identify, type ConsoleUser } from '../../src/console/auth';

const USERS: ConsoleUser[] = [
  { token: 'admin-token-0123456789', role: 'admin' },
  { username: 'alice', password: 'alice-password', role: 'viewer' },
  { username: 'bob', password: 'bob-password', role: 'admin' },
];

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

describe('console sign-in', () => {
  it.each([
    ['right user, right password', basic('alice', 'alice-password'), { name: 'alice', role: 'viewer' }],
    ['the second password user', basic('bob', 'bob-password'), { name: 'bob', role: 'admin' }],
    ['right user, wrong password', basic('alice', 'alice-passwore'), null],
    ['wrong user, right password', basic('alicf', 'alice-password'), null],
    ['both wrong', basic('mallory', 'guess'), null],
    ["one user's name with another's password", basic('alice', 'bob-password'), null],
    ['right user, empty password', basic('alice', ''), null],
    ['empty user and password', basic('', ''), null],
    ['a password as a bearer token', 'Bearer alice-password', null],
    ['the token as a bearer token', 'Bearer admin-token-0123456789', { name: 'token user 1', role: 'admin' }],
    ['the token as a Basic password, any user name', basic('anyone', 'admin-token-0123456789'), { name: 'token user 1', role: 'admin' }],
    ['a wrong token', 'Bearer admin-token-012345678', null],
    ['no credentials', undefined, null],
  ])('%s', (_name, authorization, expected) => {
    expect(identify(authorization, USERS)).toEqual(expected);
  });

  it('does the same constant-time comparisons whichever user or field is wrong, and checks every user', () => {
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    const comparisons = (authorization: string) => {
      compare.mockClear();
      identify(authorization, USERS);
      return compare.mock.calls.length;
    };
    try {
      const counts = {
        right: comparisons(basic('alice', 'alice-password')),
        wrongPassword: comparisons(basic('alice', 'nope')),
        wrongUser: comparisons(basic('nobody', 'alice-password')),
        bothWrong: comparisons(basic('nobody', 'nope')),
        rightToken: comparisons('Bearer admin-token-0123456789'),
        wrongToken: comparisons('Bearer nope'),
      };
      const expected = counts.right;
      // Every configured user is compared (no exit at the first match or the first wrong field) …
      expect(expected).toBeGreaterThanOrEqual(USERS.length * 2);
      // … and the count is the same for every outcome.
      expect(counts).toEqual({ right: expected, wrongPassword: expected, wrongUser: expected, bothWrong: expected, rightToken: expected, wrongToken: expected });
    } finally {
      compare.mockRestore();
    }
  });
});
