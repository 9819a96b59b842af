import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from './browser';
import { startTestApp, type TestApp } from './test-app';

const b64url = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();

interface Credential {
  privateKey: KeyObject;
  cose: Uint8Array;
  counter: number;
}

/**
 * A software authenticator for supertest: answers WebAuthn options like a browser with a
 * security key would (ES256, "none" attestation, user present), so the server's real
 * @simplewebauthn/server verification runs on what it sends. Nothing is mocked on the server.
 */
export class SoftwareAuthenticator {
  private readonly credentials = new Map<string, Credential>();

  constructor(private readonly origin: string) {}

  get credentialIds(): string[] {
    return [...this.credentials.keys()];
  }

  /** A new credential, or (`again`) the one with that id once more, as a careless browser would offer it. */
  register(options: PublicKeyCredentialCreationOptionsJSON, again?: string): RegistrationResponseJSON {
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const existing = again ? this.credentials.get(again) : undefined;
    const { privateKey, cose } = existing ?? newKey();
    const credentialId = again ? Buffer.from(again, 'base64url') : randomBytes(32);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credentialId.length);
    // rpIdHash · flags (UP | AT) · counter 0 · AAGUID (zeros) · credential id · COSE key
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([0x41]),
      Buffer.alloc(4),
      Buffer.alloc(16),
      idLength,
      credentialId,
      cose,
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', new Uint8Array(authData)],
      ]) as never,
    );
    const clientDataJSON = JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin: this.origin });
    const id = b64url(credentialId);
    if (!existing) this.credentials.set(id, { privateKey, cose, counter: 0 });
    return {
      id,
      rawId: id,
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(Buffer.from(clientDataJSON)),
        attestationObject: b64url(attestationObject),
        transports: ['usb'],
      },
    };
  }

  /** Signs the challenge with the first allowed credential it holds (or `credentialId`). */
  assert(options: PublicKeyCredentialRequestOptionsJSON, credentialId?: string): AuthenticationResponseJSON {
    const allowed = (options.allowCredentials ?? []).map((descriptor) => descriptor.id);
    const id = credentialId ?? allowed.find((candidate) => this.credentials.has(candidate));
    const credential = id ? this.credentials.get(id) : undefined;
    if (!id || !credential) throw new Error('The software authenticator holds none of the allowed credentials');
    credential.counter += 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(credential.counter);
    const authenticatorData = Buffer.concat([
      sha256(options.rpId ?? new URL(this.origin).hostname),
      Buffer.from([0x01]),
      counter,
    ]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: this.origin }),
    );
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), credential.privateKey);
    return {
      id,
      rawId: id,
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authenticatorData),
        signature: b64url(signature),
      },
    };
  }
}

/** An ES256 key pair with its public key as COSE (what an authenticator sends at registration). */
function newKey(): { privateKey: KeyObject; cose: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const cose = isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
      [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
    ]),
  );
  return { privateKey, cose };
}

/**
 * WebAuthn needs a secure context: http://localhost is one, http://127.0.0.1 may not be.
 * The app listens on 127.0.0.1; this loopback relay gives it a localhost port to be
 * PUBLIC_BASE_URL (the passkeys' relying party) before the app starts.
 */
export async function localhostRelay(): Promise<{ port: number; target: (port: number) => void; close: () => Promise<void> }> {
  let targetPort = 0;
  const server: Server = createServer((socket) => {
    const upstream = createConnection(targetPort, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    const end = () => (socket.destroy(), upstream.destroy());
    socket.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    target: (port) => (targetPort = port),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The app behind a localhost relay (PUBLIC_BASE_URL http://localhost:<port>, so passkeys work) and a browser. */
export async function startPasskeyBrowserStack(): Promise<{
  t: TestApp;
  browser: Browser;
  base: string;
  close(): Promise<void>;
}> {
  const relay = await localhostRelay();
  const base = `http://localhost:${relay.port}`;
  const t = await startTestApp({ PUBLIC_BASE_URL: base });
  relay.target((t.server.address() as { port: number }).port);
  const browser = await launchBrowser();
  return {
    t,
    browser,
    base,
    close: async () => {
      await browser.close();
      await t.close();
      await relay.close();
    },
  };
}

/** Chromium's virtual authenticator (CDP WebAuthn domain) on a page: passkey prompts are answered at once. */
export async function addVirtualAuthenticator(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
}
