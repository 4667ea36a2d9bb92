/** The PrincipalResolver of the auth hook (plugins/auth.ts), over the users, sessions and API tokens tables. */
import type { PrincipalResolver } from '../../plugins/auth.ts';
import type { ApiTokenRepository } from './api-token-repository.ts';
import type { SessionRepository } from './session-repository.ts';
import type { UserRepository } from './user-repository.ts';

export function createPrincipalResolver(deps: { users: UserRepository; sessions: SessionRepository; tokens: ApiTokenRepository; now: () => Date }): PrincipalResolver {
  return {
    apiToken(token) {
      const userId = deps.tokens.resolve(token, deps.now());
      return userId === undefined ? undefined : deps.users.principal(userId, 'api-token');
    },
    session(token) {
      const userId = deps.sessions.resolve(token, deps.now());
      return userId === undefined ? undefined : deps.users.principal(userId, 'session');
    },
  };
}
