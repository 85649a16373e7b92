/**
 * The Python (proteus) script that bootstraps a Tryton database for pleo-export, embedded so it
 * ships with the build (`dist/`) for `pleo-export demo --target tryton` and the test fixture. It
 * reads a JSON {@link TrytonBootstrapSpec} on stdin and prints `{companies: [{id, name, accounts}]}`.
 * Run with Debian's `/usr/bin/python3` (where `proteus` and `trytond` are installed).
 *
 * @see ./bootstrap.ts
 */
export const BOOTSTRAP_PY = String.raw`
"""Bootstraps a Tryton database for pleo-export: currencies (with rates), companies, charts of
accounts, fiscal years with monthly periods, invoice sequences, a 25 % tax, an admin user who may
work for every company. Reads a JSON spec on stdin; prints a JSON summary on stdout."""
import datetime
import json
import sys
from decimal import Decimal

from proteus import Model, config as proteus_config

spec = json.load(sys.stdin)
proteus_config.set_trytond(spec['database'], config_file=spec['configFile'])

Currency = Model.get('currency.currency')
Rate = Model.get('currency.currency.rate')
Party = Model.get('party.party')
Company = Model.get('company.company')
User = Model.get('res.user')
AccountType = Model.get('account.account.type')
Account = Model.get('account.account')
FiscalYear = Model.get('account.fiscalyear')
Sequence = Model.get('ir.sequence')
SequenceStrict = Model.get('ir.sequence.strict')
SequenceType = Model.get('ir.sequence.type')
Tax = Model.get('account.tax')

currencies = {}
for c in spec['currencies']:
    found = Currency.find([('code', '=', c['code'])])
    currency = found[0] if found else Currency(code=c['code'])
    currency.name = c['name']
    currency.symbol = c['code']
    currency.digits = c['digits']
    currency.rounding = Decimal(1).scaleb(-c['digits'])
    currency.save()
    for r in c.get('rates', []):
        day = datetime.date.fromisoformat(r['date'])
        if not Rate.find([('currency', '=', currency.id), ('date', '=', day)]):
            Rate(currency=currency, date=day, rate=Decimal(r['rate'])).save()
    currencies[c['code']] = currency

admin, = User.find([('login', '=', 'admin')])
summary = {'companies': []}
move_type, = SequenceType.find([('name', '=', 'Account Move')], limit=1)
invoice_type, = SequenceType.find([('name', '=', 'Invoice')], limit=1)

KINDS = {
    # kind: (statement, flags)
    'asset': ('balance', {'assets': True}),
    'receivable': ('balance', {'assets': True, 'receivable': True}),
    'liability': ('balance', {}),
    'payable': ('balance', {'payable': True}),
    'tax': ('balance', {}),
    'expense': ('income', {'expense': True}),
    'revenue': ('income', {'revenue': True}),
}

for spec_company in spec['companies']:
    party = Party(name=spec_company['name'])
    party.save()
    company = Company(party=party, currency=currencies[spec_company['currency']])
    company.save()
    admin.companies.append(Company(company.id))
    admin.save()
    admin = User(admin.id)
    admin.company = Company(company.id)
    admin.save()
    admin = User(admin.id)
    proteus_config.get_config()._context = User.get_preferences(True, {})
    if True:
        types = {}
        for kind, (statement, flags) in KINDS.items():
            t = AccountType(name=kind.capitalize(), statement=statement, company=company, **flags)
            t.save()
            types[kind] = t
        root = Account(name=spec_company['name'], company=company)
        root.save()
        accounts = {}
        for a in spec_company['accounts']:
            kind = a['kind']
            account = Account(
                name=a['name'], code=a['code'], company=company, parent=root,
                type=types[kind],
                reconcile=kind in ('payable', 'receivable'),
                party_required=kind in ('payable', 'receivable'))
            account.save()
            accounts[a['code']] = account.id
        for year in spec_company['fiscalYears']:
            fy = FiscalYear(name='%s %s' % (spec_company['name'], year), company=company)
            fy.start_date = datetime.date(year, 1, 1)
            fy.end_date = datetime.date(year, 12, 31)
            seq = Sequence(name='%s %s' % (spec_company['name'], year),
                sequence_type=move_type, company=company)
            seq.save()
            fy.post_move_sequence = seq
            inv_seq = SequenceStrict(name='%s %s' % (spec_company['name'], year),
                sequence_type=invoice_type, company=company)
            inv_seq.save()
            sequences, = fy.invoice_sequences
            sequences.in_invoice_sequence = inv_seq
            sequences.in_credit_note_sequence = inv_seq
            sequences.out_invoice_sequence = inv_seq
            sequences.out_credit_note_sequence = inv_seq
            fy.save()
            fy.click('create_period')
        tax_account = spec_company.get('taxAccount')
        if tax_account in accounts:
            tax = Tax(name='VAT 25%', description='VAT 25%', type='percentage',
                rate=Decimal('0.25'), company=company,
                invoice_account=Account(accounts[tax_account]),
                credit_note_account=Account(accounts[tax_account]))
            tax.save()
        for u in spec_company.get('users', []):
            user = User(name=u['login'], login=u['login'])
            user.password = u['password']
            for group in admin.groups:
                user.groups.append(group.__class__(group.id))
            user.companies.append(Company(company.id))
            user.company = Company(company.id)
            user.save()
        summary['companies'].append({'id': company.id, 'name': spec_company['name'], 'accounts': accounts})

first = summary['companies'][0]['id'] if summary['companies'] else None
if first is not None:
    admin = User(admin.id)
    admin.company = Company(first)
    admin.save()
print(json.dumps(summary))
`;
