/**
 * Windows-1252 (CP1252), the encoding DATEV expects for EXTF files, implemented from the code
 * page's table (no dependency): bytes 0x00-0x7F are ASCII, 0xA0-0xFF Latin-1, and 0x80-0x9F hold
 * 27 typographic characters (five positions are undefined).
 *
 * `toCp1252Text` makes any string representable before it is encoded, deterministically: control
 * characters become spaces, letters with diacritics that CP1252 lacks lose the diacritic (NFKD),
 * and whatever is still missing becomes `?`.
 */

/** Unicode code point of bytes 0x80-0x9F; 0 = undefined in CP1252. */
const HIGH: readonly number[] = [
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,
  0x017d, 0, 0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
  0x0153, 0, 0x017e, 0x0178,
];

const ENCODE = new Map<number, number>();
HIGH.forEach((cp, i) => {
  if (cp !== 0) ENCODE.set(cp, 0x80 + i);
});

/** The byte for a code point, or undefined when CP1252 cannot hold it. */
export function cp1252Byte(codePoint: number): number | undefined {
  if (codePoint < 0x80 || (codePoint >= 0xa0 && codePoint <= 0xff)) return codePoint;
  return ENCODE.get(codePoint);
}

/** Encodes a string that `isCp1252Text` accepts; throws on a character CP1252 cannot hold. */
export function encodeCp1252(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (const ch of text) {
    const byte = cp1252Byte(ch.codePointAt(0) ?? 0);
    if (byte === undefined)
      throw new Error(`character U+${(ch.codePointAt(0) ?? 0).toString(16)} is not in CP1252`);
    out[n++] = byte;
  }
  return out.subarray(0, n);
}

/** Decodes CP1252 bytes; an undefined byte (0x81, 0x8D, 0x8F, 0x90, 0x9D) yields U+FFFD. */
export function decodeCp1252(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    if (byte < 0x80 || byte >= 0xa0) out += String.fromCharCode(byte);
    else {
      const cp = HIGH[byte - 0x80] ?? 0;
      out += cp === 0 ? '\uFFFD' : String.fromCharCode(cp);
    }
  }
  return out;
}

/** Bytes that CP1252 leaves undefined (a file holding one was not written in CP1252). */
export function isUndefinedCp1252Byte(byte: number): boolean {
  return byte >= 0x80 && byte < 0xa0 && HIGH[byte - 0x80] === 0;
}

/** Letters outside CP1252 that have no Unicode decomposition, spelled as their base letter. */
const SPELLED: Readonly<Record<string, string>> = {
  Ł: 'L',
  ł: 'l',
  Đ: 'D',
  đ: 'd',
  Ħ: 'H',
  ħ: 'h',
  ı: 'i',
  Ŧ: 'T',
  ŧ: 't',
  Ŋ: 'N',
  ŋ: 'n',
  ĸ: 'k',
  ſ: 's',
};

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Makes untrusted text safe for a DATEV text field: one line, only CP1252 characters,
 * whitespace runs collapsed, trimmed. Deterministic: the same input always gives the same output.
 */
export function toCp1252Text(text: string): string {
  const oneLine = text.normalize('NFC').replace(CONTROL, ' ');
  let out = '';
  for (const ch of oneLine) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp1252Byte(cp) !== undefined) {
      out += ch;
      continue;
    }
    const spelled = SPELLED[ch];
    if (spelled !== undefined) {
      out += spelled;
      continue;
    }
    // Drop what CP1252 lacks from the compatibility decomposition (combining marks, mostly):
    // "ő" → "o", "ﬁ" → "fi", "Ａ" → "A". Nothing left → "?".
    const base = [...ch.normalize('NFKD')].filter((c) => cp1252Byte(c.codePointAt(0) ?? 0) !== undefined);
    const kept = base.join('').replace(CONTROL, ' ');
    out += kept.length > 0 ? kept : '?';
  }
  return out.replace(/\s+/g, ' ').trim();
}
