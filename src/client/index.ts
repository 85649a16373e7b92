/**
 * @module client
 * The Pleo Export API (v3) client: the `PleoClient` port and its HTTP implementation.
 * Other folders import only from here (house style rule 1).
 */
export * from './types.js';

export { createPleoClient, OPERATIONS } from './client.js';
export { blockedRange, parseIPv4 } from './address.js';
export {
  DEFAULT_ALLOWED_DOWNLOAD_HOSTS,
  DEFAULT_MAX_REDIRECTS,
  parseHostEntry,
  type DownloadPolicyOptions,
  type HostLookup,
} from './download.js';
export {
  clientSettings,
  compileClientOptions,
  DEFAULT_BASE_URL,
  DEFAULT_MAX_RESPONSE_BYTES,
  MAX_PAGE_SIZE,
  type ClientAuth,
  type Clock,
  type CompiledClientOptions,
  type FetchLike,
  type PleoClientOptions,
  type PleoOperation,
  type RequestEvent,
  type Sleep,
  type TokenProvider,
} from './options.js';
export type { CompiledRateLimit, RateLimitOptions } from './rate-limit.js';
export {
  backoffDelay,
  compileRetryPolicy,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  RETRY_RULES,
  type CompiledRetryPolicy,
  type RetryPolicy,
  type RetryRule,
  type RetrySafety,
} from './retry.js';
export {
  DEFAULT_TOKEN_URL,
  OAuthTokenProvider,
  type OAuthTokenProviderOptions,
  type OAuthTokens,
  type TokenRefreshEvent,
} from './auth.js';
export { IdSet, UuidRows, uuidWords } from './compact-id.js';
export { redact, redactDeep } from './redact.js';
export { MAX_ITEMS_PER_UPDATE } from './requests.js';
export { SPEC_ADJUSTMENTS, specEnumValues, type SpecAdjustment, type SpecEnumName } from './validate.js';
export {
  createAuthorizationRequest,
  exchangeAuthorizationCode,
  pkceChallenge,
  stateMatches,
  waitForAuthorizationCode,
  type AuthorizationRequest,
  type CallbackOptions,
} from './oauth-flow.js';
export { createSubscriptionsClient, type Subscription, type SubscriptionsClient } from './subscriptions.js';
