import { randomBytes, randomInt } from 'node:crypto';
import type { CallPrincipal } from './model';

/** Credentials as an SDK takes them (`new S3Client({ credentials })`, or the `AWS_*` variables of a function). */
export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Present for a role session (`ASIA...` keys), absent for long-term keys (`AKIA...`). */
  readonly sessionToken?: string;
}

/** What a verifier needs to know of an access key. */
export interface CredentialRecord {
  readonly secretAccessKey: string;
  /** The token a request with this key must carry (`X-Amz-Security-Token`); undefined for a long-term key. */
  readonly sessionToken?: string;
  readonly principal: CallPrincipal;
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The kit's STS and IAM: credentials for each principal and, for a request's access key, who it belongs to.
 *
 * Keys look like AWS's (IAM User Guide, "Unique identifiers", prefixes: `ASIA` for temporary credentials from STS,
 * `AKIA` for an access key): `ASIA`/`AKIA` plus 16 upper-case letters or digits, a 40-character secret, and for a
 * role session an opaque session token.
 */
export class LocalCredentials {
  private readonly byKey = new Map<string, CredentialRecord>();
  private readonly sessions = new Map<string, IssuedCredentials>();

  /**
   * The session credentials of a principal, as `sts:AssumeRole` (or Lambda, Step Functions... assuming the role)
   * would hand them out: the same credentials for the same principal within this instance.
   */
  public issue(principal: CallPrincipal): IssuedCredentials {
    if (principal.kind === 'anonymous') throw new Error('an anonymous caller has no credentials');
    const id = principalKey(principal);
    const existing = this.sessions.get(id);
    if (existing) return existing;
    const issued = {
      accessKeyId: this.freshKeyId('ASIA'),
      secretAccessKey: randomSecret(),
      sessionToken: randomBytes(96).toString('base64'),
    };
    this.byKey.set(issued.accessKeyId, { secretAccessKey: issued.secretAccessKey, sessionToken: issued.sessionToken, principal });
    this.sessions.set(id, issued);
    return issued;
  }

  /**
   * Registers long-term credentials (no session token) for a principal: fixed keys for tests, or the keys a user's
   * own CLI calls sign with. Generates an `AKIA...` key and a secret where not given.
   */
  public registerLongTerm(principal: CallPrincipal, fixed: Partial<Omit<IssuedCredentials, 'sessionToken'>> = {}): IssuedCredentials {
    if (principal.kind === 'anonymous') throw new Error('an anonymous caller has no credentials');
    const accessKeyId = fixed.accessKeyId ?? this.freshKeyId('AKIA');
    if (!/^\w+$/.test(accessKeyId)) throw new Error(`invalid access key id: ${accessKeyId}`);
    if (this.byKey.has(accessKeyId)) throw new Error(`access key ${accessKeyId} is already registered`);
    const secretAccessKey = fixed.secretAccessKey ?? randomSecret();
    this.byKey.set(accessKeyId, { secretAccessKey, principal });
    return { accessKeyId, secretAccessKey };
  }

  /** The secret, session token and principal of an access key, or undefined for a key this instance never gave out. */
  public lookup(accessKeyId: string): CredentialRecord | undefined {
    return this.byKey.get(accessKeyId);
  }

  private freshKeyId(prefix: 'ASIA' | 'AKIA'): string {
    for (;;) {
      const id = prefix + randomChars(KEY_ALPHABET, 16);
      if (!this.byKey.has(id)) return id;
    }
  }
}

/** One identity per principal: a role's sessions differ by session name. */
function principalKey(p: Exclude<CallPrincipal, { kind: 'anonymous' }>): string {
  return p.kind === 'role' ? `role\n${p.roleArn}\n${p.sessionName ?? ''}` : `service\n${p.service}`;
}

function randomSecret(): string {
  return randomChars(SECRET_ALPHABET, 40);
}

function randomChars(alphabet: string, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}
