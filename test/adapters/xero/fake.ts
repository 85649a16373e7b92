/**
 * A stateful fake of the part of Xero the adapter uses, for tests (Prism, in front of it, checks
 * every request against Xero's official spec but keeps no state).
 *
 * - OAuth: `POST /connect/token` rotates single-use refresh tokens (a spent one answers
 *   `invalid_grant`); `GET /connections` lists the tenant; API calls need a live access token (401)
 *   and the right `xero-tenant-id` (403).
 * - Documents: BankTransactions, Invoices, ManualJournals and their Attachments are stored;
 *   `where=` answers `Field=="v"` and `Field.EndsWith("v")` joined by `AND`.
 * - `Idempotency-Key`: a repeated key answers the first answer again and creates nothing.
 * - Xero's validation: unknown account codes, tax types and tracking options, dates before the
 *   lock date answer 400 `ValidationException` with Xero's messages.
 * - Faults: `loseAnswers(n)` applies the next n writes and then destroys the connection (the
 *   answer is lost); `failNext(n, status, headers)` answers n calls with an error before applying.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Doc = Record<string, unknown>;

export interface FakeAttachment {
  AttachmentID: string;
  FileName: string;
  MimeType: string;
  ContentLength: number;
  bytes: Buffer;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

interface Failure {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  /** Only calls whose path starts with this. */
  path?: string;
}

const RESOURCES = {
  BankTransactions: 'BankTransactionID',
  Invoices: 'InvoiceID',
  ManualJournals: 'ManualJournalID',
} as const;
type Resource = keyof typeof RESOURCES;

export class XeroFake {
  readonly tenantId = '5b2f1c1e-8a9d-4c55-9a3e-0d2f5e7c1a01';
  readonly clientId = 'FAKECLIENTID';
  readonly clientSecret = 'fake-secret';
  baseCurrency = 'EUR';
  accounts = new Map<string, { Type: string; CurrencyCode?: string; Name: string }>();
  taxTypes = new Set(['NONE', 'INPUT2', 'INPUT', 'ZERORATEDINPUT']);
  tracking = new Map<string, Set<string>>();
  lockDate: string | undefined;
  docs: Record<Resource, Doc[]> = { BankTransactions: [], Invoices: [], ManualJournals: [] };
  attachments = new Map<string, FakeAttachment[]>();
  requests: FakeRequest[] = [];
  /** Called after a write was applied and before its answer is sent (e.g. to kill the client). */
  afterApply: ((request: FakeRequest) => void) | undefined;
  /** Refresh tokens that may be used (each once). */
  refreshTokens = new Set<string>();
  accessTokens = new Set<string>();
  refreshCount = 0;
  private idempotent = new Map<string, { status: number; body: string }>();
  private lose = 0;
  private failures: Failure[] = [];
  private server: Server | undefined;
  url = '';

  constructor() {
    this.reset();
  }

  /** Empties the books and the logs (accounts, tax types and tracking stay as configured). */
  reset(): void {
    this.docs = { BankTransactions: [], Invoices: [], ManualJournals: [] };
    this.attachments.clear();
    this.requests = [];
    this.idempotent.clear();
    this.lose = 0;
    this.failures = [];
    this.lockDate = undefined;
    this.refreshCount = 0;
    this.afterApply = undefined;
    this.accounts = new Map();
    for (const code of [
      '6010',
      '6011',
      '6020',
      '6540',
      '5800',
      '5810',
      '5820',
      '2820',
      '7210',
      '1930',
      '1910',
      '3990',
      '6570',
      '2640',
      '2641',
      '2645',
      '2647',
      '2610',
      '2615',
      '2617',
      '2440',
      '2441',
      '3740',
      '1920',
      '1921',
      '1922',
    ]) {
      this.accounts.set(code, { Type: 'EXPENSE', Name: `Account ${code}` });
    }
    for (const [code, currency] of [
      ['090', 'EUR'],
      ['091', 'JPY'],
      ['092', 'KWD'],
      ['093', 'USD'],
    ] as const) {
      this.accounts.set(code, { Type: 'BANK', CurrencyCode: currency, Name: `Pleo ${currency}` });
    }
    this.tracking = new Map([['Department', new Set(['Sales', 'RnD'])]]);
  }

  /** A refresh token the adapter may start from (the configured seed). */
  issueSeed(): string {
    const token = `seed-${randomUUID()}`;
    this.refreshTokens.add(token);
    return token;
  }

  loseAnswers(count: number): void {
    this.lose = count;
  }

  failNext(
    count: number,
    status: number,
    headers: Record<string, string> = {},
    path?: string,
    body?: unknown,
  ): void {
    for (let i = 0; i < count; i++)
      this.failures.push({ status, headers, ...(path ? { path } : {}), ...(body ? { body } : {}) });
  }

  /** Documents holding `id` in their lookup field (Reference, or the end of InvoiceNumber/Narration). */
  documentsFor(id: string): Doc[] {
    return [
      ...this.docs.BankTransactions.filter((d) => d['Reference'] === id),
      ...this.docs.Invoices.filter((d) => str(d['InvoiceNumber']).endsWith(id)),
      ...this.docs.ManualJournals.filter((d) => str(d['Narration']).endsWith(id)),
    ];
  }

  attachmentsOf(docId: string): FakeAttachment[] {
    return this.attachments.get(docId) ?? [];
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.handle(req, res, Buffer.concat(chunks));
        } catch (error) {
          res.statusCode = 500;
          res.end(String(error));
        }
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    this.requests.push({
      method: req.method ?? '',
      path,
      query: url.searchParams,
      headers: req.headers,
      body,
    });

    if (path === '/connect/token' && req.method === 'POST') return this.token(req, res, body);
    const auth = req.headers.authorization ?? '';
    if (!this.accessTokens.has(auth.replace(/^Bearer /, ''))) {
      return this.send(res, 401, {
        Type: null,
        Title: 'Unauthorized',
        Status: 401,
        Detail: 'TokenExpired: token expired',
      });
    }
    if (path === '/connections') {
      return this.send(res, 200, [
        { id: randomUUID(), tenantId: this.tenantId, tenantType: 'ORGANISATION', tenantName: 'Fake Ltd' },
      ]);
    }
    if (req.headers['xero-tenant-id'] !== this.tenantId) {
      return this.send(res, 403, {
        Type: null,
        Title: 'Forbidden',
        Status: 403,
        Detail: 'AuthenticationUnsuccessful',
      });
    }
    const failure = this.failures.findIndex((f) => f.path === undefined || path.startsWith(f.path));
    if (failure >= 0) {
      const [f] = this.failures.splice(failure, 1);
      return this.send(
        res,
        f!.status,
        f!.body ?? { Title: 'fault', Status: f!.status, Detail: 'injected' },
        f!.headers,
      );
    }

    const key = req.headers['idempotency-key'];
    const idemKey = typeof key === 'string' ? `${path}|${key}` : undefined;
    let answer = idemKey === undefined ? undefined : this.idempotent.get(idemKey);
    if (answer === undefined) {
      const routed = this.route(req.method ?? 'GET', path, url.searchParams, body, req);
      answer = { status: routed.status, body: JSON.stringify(routed.body) };
      if (idemKey !== undefined && req.method !== 'GET') this.idempotent.set(idemKey, answer);
    }
    const text = answer.body;
    if (req.method !== 'GET' && this.afterApply) this.afterApply(this.requests.at(-1)!);
    if (req.method !== 'GET' && this.lose > 0) {
      this.lose--;
      // Applied, answer lost: the connection dies before a byte of the answer is sent.
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(text);
  }

  private token(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const expected = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return this.send(res, 400, { error: 'invalid_client' });
    const form = new URLSearchParams(body.toString('utf8'));
    const refresh = form.get('refresh_token') ?? '';
    if (form.get('grant_type') !== 'refresh_token' || !this.refreshTokens.has(refresh)) {
      return this.send(res, 400, { error: 'invalid_grant' });
    }
    this.refreshTokens.delete(refresh);
    this.refreshCount++;
    const access = `access-${randomUUID()}`;
    const next = `refresh-${randomUUID()}`;
    this.accessTokens.add(access);
    this.refreshTokens.add(next);
    this.send(res, 200, {
      access_token: access,
      refresh_token: next,
      expires_in: 1800,
      token_type: 'Bearer',
      scope: 'accounting.transactions offline_access',
    });
  }

  private route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: Buffer,
    req: IncomingMessage,
  ): { status: number; body: unknown } {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const [root, docId, sub, fileName] = parts;
    if (method === 'GET' && root === 'Organisation') {
      return {
        status: 200,
        body: {
          Organisations: [
            { Name: 'Fake Ltd', BaseCurrency: this.baseCurrency, OrganisationID: this.tenantId },
          ],
        },
      };
    }
    if (method === 'GET' && root === 'Accounts') {
      return {
        status: 200,
        body: {
          Accounts: [...this.accounts].map(([Code, a]) => ({
            AccountID: randomUUID(),
            Code,
            Name: a.Name,
            Type: a.Type,
            Status: 'ACTIVE',
            ...(a.CurrencyCode ? { CurrencyCode: a.CurrencyCode } : {}),
          })),
        },
      };
    }
    if (method === 'GET' && root === 'TaxRates') {
      return {
        status: 200,
        body: {
          TaxRates: [...this.taxTypes].map((TaxType) => ({
            Name: `Rate ${TaxType}`,
            TaxType,
            Status: 'ACTIVE',
          })),
        },
      };
    }
    if (method === 'GET' && root === 'TrackingCategories') {
      return {
        status: 200,
        body: {
          TrackingCategories: [...this.tracking].map(([Name, options]) => ({
            TrackingCategoryID: randomUUID(),
            Name,
            Status: 'ACTIVE',
            Options: [...options].map((o) => ({ TrackingOptionID: randomUUID(), Name: o, Status: 'ACTIVE' })),
          })),
        },
      };
    }
    if (!(root !== undefined && root in RESOURCES))
      return { status: 404, body: { Title: 'Not Found', Status: 404 } };
    const resource = root as Resource;
    const idField = RESOURCES[resource];
    if (docId === undefined) {
      if (method === 'GET') {
        const where = query.get('where');
        const docs = this.docs[resource].filter((d) => (where ? matches(d, where) : true));
        return { status: 200, body: { [resource]: docs } };
      }
      if (method === 'PUT')
        return this.create(resource, idField, JSON.parse(body.toString('utf8')) as Record<string, Doc[]>);
    }
    if (docId !== undefined && sub === 'Attachments') {
      if (!this.docs[resource].some((d) => d[idField] === docId))
        return { status: 404, body: { Title: 'Not Found', Status: 404 } };
      const list = this.attachments.get(docId) ?? [];
      if (method === 'GET' && fileName === undefined) {
        return { status: 200, body: { Attachments: list.map(({ bytes: _b, ...a }) => a) } };
      }
      if (method === 'PUT' && fileName !== undefined) {
        const a: FakeAttachment = {
          AttachmentID: randomUUID(),
          FileName: fileName,
          MimeType: String(req.headers['content-type'] ?? ''),
          ContentLength: body.length,
          bytes: body,
        };
        list.push(a);
        this.attachments.set(docId, list);
        const doc = this.docs[resource].find((d) => d[idField] === docId);
        if (doc) doc['HasAttachments'] = true;
        const { bytes: _b, ...shown } = a;
        return { status: 200, body: { Attachments: [shown] } };
      }
    }
    return { status: 405, body: { Title: 'Method not allowed', Status: 405 } };
  }

  private validationErrors(resource: Resource, doc: Doc): string[] {
    const errors: string[] = [];
    const date = str(doc['Date']);
    if (this.lockDate !== undefined && date <= this.lockDate) {
      errors.push(`The document date cannot be before the period lock date (${this.lockDate}).`);
    }
    const lines = (doc['LineItems'] ?? doc['JournalLines'] ?? []) as Doc[];
    for (const line of lines) {
      const code = str(line['AccountCode']);
      const account = this.accounts.get(code);
      if (account === undefined || account.Type === 'BANK')
        errors.push(`Account code '${code}' is not a valid code for this document.`);
      const taxType = line['TaxType'];
      if (typeof taxType === 'string' && !this.taxTypes.has(taxType))
        errors.push(
          `The TaxType code '${taxType}' does not exist or cannot be used for this type of transaction.`,
        );
      for (const t of (line['Tracking'] ?? []) as Doc[]) {
        const options = this.tracking.get(String(t['Name']));
        if (options === undefined) errors.push(`Tracking category '${String(t['Name'])}' does not exist.`);
        else if (!options.has(String(t['Option'])))
          errors.push(
            `The Tracking option '${String(t['Option'])}' does not exist for category '${String(t['Name'])}'.`,
          );
      }
    }
    if (resource === 'BankTransactions') {
      const bank = (doc['BankAccount'] as Doc | undefined)?.['Code'];
      const account = this.accounts.get(String(bank));
      if (account?.Type !== 'BANK')
        errors.push(`Bank account '${String(bank)}' is not a valid bank account.`);
      else if ((account.CurrencyCode ?? this.baseCurrency) !== (doc['CurrencyCode'] ?? this.baseCurrency)) {
        errors.push('The currency of the bank transaction must match the currency of the bank account.');
      }
      if (!doc['Contact']) errors.push('A Contact must be specified for this type of transaction');
    }
    if (resource === 'ManualJournals') {
      const total = lines.reduce((s, l) => s + Math.round(Number(l['LineAmount']) * 1000), 0);
      if (total !== 0) errors.push('The total debits must be equal to total credits.');
    }
    return errors;
  }

  private create(
    resource: Resource,
    idField: string,
    payload: Record<string, Doc[]>,
  ): { status: number; body: unknown } {
    const input = payload[resource] ?? [];
    const problems = input.map((d) => this.validationErrors(resource, d));
    if (problems.some((p) => p.length > 0)) {
      return {
        status: 400,
        body: {
          ErrorNumber: 10,
          Type: 'ValidationException',
          Message: 'A validation exception occurred',
          Elements: input.map((d, i) => ({
            ...d,
            ValidationErrors: (problems[i] ?? []).map((Message) => ({ Message })),
          })),
        },
      };
    }
    const created = input.map((d) => {
      const doc: Doc = {
        ...d,
        [idField]: randomUUID(),
        UpdatedDateUTC: `/Date(${Date.UTC(2026, 2, 11, 9, 0, 0)}+0000)/`,
        HasAttachments: false,
      };
      if (resource === 'BankTransactions') doc['Status'] = 'AUTHORISED';
      if (resource === 'ManualJournals') doc['Status'] = d['Status'] ?? 'DRAFT';
      this.docs[resource].push(doc);
      return doc;
    });
    return { status: 200, body: { [resource]: created } };
  }
}

/** A stored field as text (absent → ''). */
export function str(value: unknown): string {
  return typeof value === 'string'
    ? value
    : value === undefined || value === null
      ? ''
      : JSON.stringify(value);
}

/** Xero's `where` subset the adapter uses: `A=="x"`, `A.EndsWith("x")`, joined by ` AND `. */
function matches(doc: Doc, where: string): boolean {
  return where.split(' AND ').every((clause) => {
    const eq = /^(\w+)=="((?:[^"\\]|\\.)*)"$/.exec(clause.trim());
    if (eq) return str(doc[eq[1]!]) === eq[2];
    const ends = /^(\w+)\.EndsWith\("((?:[^"\\]|\\.)*)"\)$/.exec(clause.trim());
    if (ends) return str(doc[ends[1]!]).endsWith(ends[2]!);
    throw new Error(`fake: unsupported where clause ${clause}`);
  });
}
