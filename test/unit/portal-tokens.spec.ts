import type { DataSource, EntityManager } from 'typeorm';
import type { MailOutboxRepository } from '../../src/invitations/outbox.repository';
import type { PortalTokensRepository, TokenWithHolder } from '../../src/invitations/portal-tokens.repository';
import { PortalTokensService } from '../../src/invitations/portal-tokens.service';

/** Token consumption with fake repositories: every reason a link stops working, and only one use wins. */
describe('PortalTokensService', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const hash = 'a'.repeat(64);
  const tx = {} as EntityManager;
  const usable: TokenWithHolder = {
    tokenId: 5,
    patientId: 9,
    purpose: 'invite',
    sentTo: 'pat@example.test',
    expiresAt: new Date('2026-03-02T12:00:00Z'),
    usedAt: null,
    revokedAt: null,
    firstName: 'Pat',
    lastName: 'Doe',
    dateOfBirth: '1980-04-05',
    email: 'pat@example.test',
    username: null,
    accessEnabled: true,
    deceased: false,
    bouncedEmail: null,
    preferredLanguage: null,
    representative: null,
  };

  function setup(row: TokenWithHolder | null, wins = true) {
    const tokens = {
      findByHash: jest.fn(async () => row),
      markUsed: jest.fn(async () => wins),
      revokeOpenFor: jest.fn(async () => 2),
    };
    const outbox = { cancelUnsentForOpenLinksOf: jest.fn(async () => undefined) };
    const sut = new PortalTokensService(
      { manager: tx } as unknown as DataSource,
      tokens as unknown as PortalTokensRepository,
      outbox as unknown as MailOutboxRepository,
    );
    return { sut, tokens, outbox };
  }

  it('uses a usable link up once, under a row lock, and returns its holder', async () => {
    const { sut, tokens } = setup(usable);
    expect(await sut.consume(tx, hash, 'invite', now)).toEqual({
      ok: true,
      holder: {
        tokenId: 5,
        patientId: 9,
        purpose: 'invite',
        firstName: 'Pat',
        lastName: 'Doe',
        dateOfBirth: '1980-04-05',
        email: 'pat@example.test',
        username: null,
        preferredLanguage: null,
        representative: null,
      },
    });
    expect(tokens.findByHash).toHaveBeenCalledWith(hash, true, tx);
    expect(tokens.markUsed).toHaveBeenCalledWith(5, now, tx);
  });

  it('answers "used" to the submission that lost the race', async () => {
    const { sut } = setup(usable, false);
    expect(await sut.consume(tx, hash, 'invite', now)).toEqual({ ok: false, reason: 'used', patientId: 9 });
  });

  it.each([
    ['wrong_purpose', { purpose: 'reset' as const }],
    ['used', { usedAt: new Date('2026-03-01T11:00:00Z') }],
    ['revoked', { revokedAt: new Date('2026-03-01T11:00:00Z') }],
    ['expired', { expiresAt: now }],
    ['access_disabled', { accessEnabled: false }],
    ['email_changed', { email: 'new@example.test' }],
    ['email_changed', { email: null }],
  ])('refuses a link that is %s and writes nothing', async (reason, change) => {
    const { sut, tokens } = setup({ ...usable, ...change });
    expect(await sut.consume(tx, hash, 'invite', now)).toEqual({ ok: false, reason, patientId: 9 });
    expect(tokens.markUsed).not.toHaveBeenCalled();
  });

  it('never looks up a malformed hash, and says "unknown" for a hash it does not know', async () => {
    const malformed = setup(usable);
    expect(await malformed.sut.check('not-a-hash', 'invite', now)).toEqual({ ok: false, reason: 'malformed', patientId: null });
    expect(malformed.tokens.findByHash).not.toHaveBeenCalled();
    const unknown = setup(null);
    expect(await unknown.sut.check(hash, 'invite', now)).toEqual({ ok: false, reason: 'unknown', patientId: null });
    expect(unknown.tokens.findByHash).toHaveBeenCalledWith(hash, false, tx);
  });

  it('revoking links first cancels their unsent emails', async () => {
    const { sut, tokens, outbox } = setup(usable);
    expect(await sut.revokeTokensOf(tx, [9, 10], 'superseded', now, 5)).toBe(2);
    expect(outbox.cancelUnsentForOpenLinksOf).toHaveBeenCalledWith([9, 10], 'link revoked: superseded', tx, 5);
    expect(tokens.revokeOpenFor).toHaveBeenCalledWith([9, 10], 'superseded', now, tx, 5);
    expect(outbox.cancelUnsentForOpenLinksOf.mock.invocationCallOrder[0]).toBeLessThan(
      tokens.revokeOpenFor.mock.invocationCallOrder[0],
    );
  });
});
