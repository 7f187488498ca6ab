/** Cognito user pool sign-in over its AWS JSON 1.1 API (no SDK): USER_PASSWORD_AUTH and NEW_PASSWORD_REQUIRED. */
import type { ConsoleConfig } from '../../src/review/console-api';
import type { Tokens } from './session';

export type AuthAnswer =
  | { readonly kind: 'tokens'; readonly tokens: Tokens }
  | { readonly kind: 'newPassword'; readonly session: string; readonly username: string };

export class CognitoError extends Error {
  constructor(message: string, readonly type: string) {
    super(message);
  }
}

async function call(config: ConsoleConfig, action: string, body: unknown): Promise<Record<string, any>> {
  let res: Response;
  try {
    res = await fetch(config.cognitoEndpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': `AWSCognitoIdentityProviderService.${action}`,
      },
      body: JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new CognitoError('The sign-in service cannot be reached.', 'NetworkError');
  }
  const text = await res.text();
  let json: Record<string, any> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    // not JSON
  }
  if (!res.ok) {
    // `__type` may be qualified: "com.amazonaws...#NotAuthorizedException"
    const type = String(json.__type ?? res.status).split('#').pop() as string;
    throw new CognitoError(json.message ?? json.Message ?? `Sign-in failed (${type}).`, type);
  }
  return json;
}

function answer(json: Record<string, any>, username: string): AuthAnswer {
  if (json.AuthenticationResult?.IdToken) return { kind: 'tokens', tokens: json.AuthenticationResult as Tokens };
  if (json.ChallengeName === 'NEW_PASSWORD_REQUIRED') return { kind: 'newPassword', session: json.Session, username };
  throw new CognitoError(
    json.ChallengeName ? `This console cannot answer the sign-in challenge ${json.ChallengeName}.` : 'Sign-in returned no tokens.',
    'UnsupportedChallenge',
  );
}

export async function signIn(config: ConsoleConfig, username: string, password: string): Promise<AuthAnswer> {
  const json = await call(config, 'InitiateAuth', {
    AuthFlow: 'USER_PASSWORD_AUTH',
    ClientId: config.userPoolClientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  return answer(json, username);
}

export async function setNewPassword(config: ConsoleConfig, username: string, session: string, newPassword: string): Promise<AuthAnswer> {
  const json = await call(config, 'RespondToAuthChallenge', {
    ChallengeName: 'NEW_PASSWORD_REQUIRED',
    ClientId: config.userPoolClientId,
    Session: session,
    ChallengeResponses: { USERNAME: username, NEW_PASSWORD: newPassword },
  });
  return answer(json, username);
}
