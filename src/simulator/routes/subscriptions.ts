/**
 * Webhook subscriptions, scoped to the caller's company (another company's subscription → 404).
 * `POST /v1/subscriptions` answers 200 `{data: SubscriptionModel}` as Pleo's subscriptions spec
 * says; the secret is only given by `GET /v1/subscriptions/{id}/secret` → `{data: {secretKey}}`.
 */
import { ApiError } from '../errors.js';
import { jsonBody } from '../http.js';
import type { RequestContext, Route } from '../http.js';
import { parseBody, subscriptionSchema } from '../validate.js';
import { Webhooks } from '../webhooks.js';
import type { Subscription } from '../webhooks.js';
import { companyOf } from './deps.js';
import type { RouteDeps } from './deps.js';

export function subscriptionRoutes(deps: RouteDeps): Route[] {
  const { webhooks } = deps;
  const find = (ctx: RequestContext): Subscription => {
    const sub = webhooks.subscriptions.get(ctx.params.id ?? '');
    if (sub?.companyId !== companyOf(ctx).id) throw new ApiError(404, 'not_found', 'Subscription not found');
    return sub;
  };
  return [
    {
      method: 'POST',
      path: '/v1/subscriptions',
      operation: 'createSubscription',
      auth: 'pleo',
      write: true,
      handler: (ctx) => {
        const body = parseBody(subscriptionSchema, jsonBody(ctx), 'SubscriptionRequest');
        const sub = webhooks.create(companyOf(ctx).id, body);
        return { status: 200, json: { data: Webhooks.toModel(sub) } };
      },
    },
    {
      method: 'GET',
      path: '/v1/subscriptions/:id',
      operation: 'getSubscription',
      auth: 'pleo',
      write: false,
      handler: (ctx) => ({ status: 200, json: { data: Webhooks.toModel(find(ctx)) } }),
    },
    {
      method: 'DELETE',
      path: '/v1/subscriptions/:id',
      operation: 'deleteSubscription',
      auth: 'pleo',
      write: true,
      handler: (ctx) => {
        webhooks.subscriptions.delete(find(ctx).id);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/v1/subscriptions/:id/secret',
      operation: 'getSubscriptionSecret',
      auth: 'pleo',
      write: false,
      handler: (ctx) => ({ status: 200, json: { data: { secretKey: find(ctx).secret } } }),
    },
  ];
}
