/**
 * Pleo's webhook Subscriptions API (outside the Export API's OpenAPI file; docs/decisions.md#w10):
 * `POST /v1/subscriptions` and `GET /v1/subscriptions/{id}/secret`. Same hosts, same credentials
 * (a company's API key or OAuth token with the Export API scopes), same transport (auth, pacing,
 * timeouts, retries) as the Export API client.
 */
import { MalformedResponseError } from '../errors/index.js';
import { createAuthStrategy } from './authorization.js';
import { OPERATIONS } from './client.js';
import { compileClientOptions, type PleoClientOptions, type PleoOperation } from './options.js';
import { Redactor } from './redact.js';
import { HttpTransport, readJson } from './transport.js';

export interface Subscription {
  id: string;
  endpointUrl: string;
  eventTypes: string[];
  status: string;
}

export interface SubscriptionsClient {
  create(
    request: { endpointUrl: string; eventTypes: string[] },
    options?: { signal?: AbortSignal },
  ): Promise<Subscription>;
  /** The `whsec_…` signing secret of a subscription. */
  secret(subscriptionId: string, options?: { signal?: AbortSignal }): Promise<string>;
}

export function createSubscriptionsClient(options: PleoClientOptions): SubscriptionsClient {
  const compiled = compileClientOptions(options);
  const redactor = new Redactor();
  const transport = new HttpTransport(compiled, createAuthStrategy(compiled.auth, redactor), redactor);
  const call = <T>(
    operation: PleoOperation,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    pick: (value: unknown) => T | undefined,
  ): Promise<T> => {
    const url = new URL(compiled.baseUrl + path);
    const method = OPERATIONS[operation].method;
    return transport.send({
      operation,
      method,
      url,
      path: url.pathname,
      ...(body === undefined ? {} : { body }),
      authenticated: true,
      safety: OPERATIONS[operation].safety,
      signal,
      read: async (response) => {
        const value = pick(
          await readJson(response, { operation, method, path: url.pathname }, compiled.maxResponseBytes),
        );
        if (value === undefined) {
          throw new MalformedResponseError(`${method} ${url.pathname}: unexpected response body`, {
            code: 'MALFORMED_RESPONSE',
            retryable: false,
            method,
            path: url.pathname,
            status: response.status,
          });
        }
        return value;
      },
    });
  };
  const data = (value: unknown): Record<string, unknown> | undefined => {
    const d = (value as { data?: unknown } | null)?.data;
    return typeof d === 'object' && d !== null ? (d as Record<string, unknown>) : undefined;
  };
  return {
    create(request, opts) {
      return call(
        'createSubscription',
        '/v1/subscriptions',
        { ...request, status: 'ACTIVE' },
        opts?.signal,
        (value) => {
          const d = data(value);
          return d && typeof d['id'] === 'string'
            ? {
                id: d['id'],
                endpointUrl: String(d['endpointUrl']),
                eventTypes: Array.isArray(d['eventTypes']) ? d['eventTypes'].map(String) : [],
                status: String(d['status']),
              }
            : undefined;
        },
      );
    },
    secret(subscriptionId, opts) {
      return call(
        'getSubscriptionSecret',
        `/v1/subscriptions/${encodeURIComponent(subscriptionId)}/secret`,
        undefined,
        opts?.signal,
        (value) => {
          const secret = data(value)?.['secretKey'];
          return typeof secret === 'string' && secret.startsWith('whsec_') ? secret : undefined;
        },
      );
    },
  };
}
