/**
 * HTML built from tagged templates that escape every interpolated value. Pleo's data is hostile
 * (a merchant name, a note, a failure reason can hold markup): nothing reaches the page unescaped
 * unless it is itself an `Html` value built here. Links to the outside are rendered only for
 * `http(s)` URLs.
 */

/** A fragment of trusted HTML (built by `html`, never from raw input). */
export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for an HTML element body or a double-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return (value as readonly Value[]).map(render).join('');
  return escapeHtml(String(value));
}

/** `html\`<td>${text}</td>\``: every interpolation escaped, `Html` values and arrays of them kept. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** A link when `url` is an absolute http(s) URL; otherwise the text alone (never `javascript:`). */
export function externalLink(url: string | null | undefined, text: string): Html {
  if (url && /^https?:\/\/[^\s]+$/i.test(url)) {
    return html`<a href="${url}" rel="noopener noreferrer nofollow" target="_blank">${text}</a>`;
  }
  return html`${text}`;
}

/** A query string from defined values (`?a=1&b=2`, or '' when none). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
