/** The page shell: skip link, navigation, main landmark; one stylesheet and one script, no inline code. */
import { formatMinor } from '../accounting/index.js';
import { html, type Html } from './html.js';

export const BASE = '/console';
export const ASSET_VERSION = '1';

export interface PageContext {
  /** The session's CSRF token (null for a bearer-token client, which cannot submit forms). */
  csrf: string | null;
  /** True when a sign-out button makes sense (token-protected console with a session). */
  signedIn: boolean;
  /** Where this page is in the navigation. */
  section: 'jobs' | 'pending' | 'health' | 'login' | null;
}

export function page(title: string, ctx: PageContext, body: Html): string {
  const nav = (key: PageContext['section'], href: string, label: string): Html =>
    html`<li><a href="${href}" ${ctx.section === key ? html` aria-current="page"` : ''}>${label}</a></li>`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>${title} · pleo-export</title>
        <link rel="stylesheet" href="${BASE}/assets/console.css?v=${ASSET_VERSION}" />
        <script src="${BASE}/assets/console.js?v=${ASSET_VERSION}" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <p class="brand"><a href="${BASE}/jobs">pleo-export</a></p>
          ${
            ctx.section === 'login'
              ? ''
              : html`<nav aria-label="Main">
                    <ul>
                      ${nav('jobs', `${BASE}/jobs`, 'Jobs')}
                      ${nav('pending', `${BASE}/pending`, 'Pending at Pleo')}
                      ${nav('health', `${BASE}/health`, 'Health')}
                    </ul>
                  </nav>
                  ${
                    ctx.signedIn && ctx.csrf !== null
                      ? html`<form method="post" action="${BASE}/logout" class="logout">
                          <input type="hidden" name="csrf" value="${ctx.csrf}" />
                          <button type="submit">Sign out</button>
                        </form>`
                      : ''
                  }`
          }
        </header>
        <main id="main" tabindex="-1">${body}</main>
      </body>
    </html> `.value;
}

/** A table that scrolls sideways on a phone; focusable so keyboard users can scroll it. */
export function scroller(label: string, table: Html): Html {
  return html`<div class="scroll" role="region" aria-label="${label}" tabindex="0">${table}</div>`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

/** Minor units → "1234.56 DKK" (the currency's own decimals); the raw number if it is not minor units. */
export function formatMoney(value: number, currency: string): string {
  try {
    return `${formatMinor(value, currency)} ${currency}`;
  } catch {
    return `${value} ${currency} (minor units)`;
  }
}
