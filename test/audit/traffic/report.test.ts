/**
 * The traffic audit's HTML report, opened in a real browser (Debian's chromium through
 * playwright-core): hand-built ScanReports (a clean one, one with every anomaly kind, many
 * providers and a broken chain, one full of hostile values) are rendered, written to a file and
 * opened from disk. The page must make no request but its own, log no error, run nothing that a
 * value smuggled in, and show exactly the figures of the JSON it was rendered from.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../../src/audit/traffic/report-html.ts';
import { ANOMALY_KINDS, MESSAGE_KINDS, type Anomaly, type ScanReport } from '../../../src/audit/traffic/scan-report.ts';
import { ARTIFACTS, launchChromium, pageFigures, screenshot, visit } from '../../helpers/browser.ts';
import { findPans } from '../../helpers/pan-scan.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const GATEWAY_CA = 'CN=paygate dev CA,O=paygate';

/** A clean week of traffic: three providers, two profiles, known recipients, an intact chain. */
function cleanReport(): ScanReport {
  return {
    paygate_traffic_scan: 1,
    generated_at: '2026-12-07T12:00:00.000Z',
    verdict: 'clean',
    limitations: [],
    capture: { path: '/srv/audit/capture-2026-12', segments: 3, messages: 6003, bytes: 41_234_567, first_time: '2026-12-01T00:00:00.001Z', last_time: '2026-12-06T23:59:59.999Z', sources: ['embedded'] },
    policy: { require_gcm: true, min_rsa_bits: 2048, known_recipients: 3 },
    counts: { request: 2000, reply: 2000, events: 2000, dead_letter: 0, other: 3, encrypted: 6000, clear: 3 },
    providers: [
      { provider: 'card', requests: 1200, replies: 1200, dead_letters: 0, by_type: [{ type: 'authorize', count: 700 }, { type: 'capture', count: 500 }] },
      { provider: 'paypal', requests: 500, replies: 500, dead_letters: 0, by_type: [{ type: 'order', count: 500 }] },
      { provider: 'giftcard', requests: 300, replies: 300, dead_letters: 0, by_type: [{ type: 'redeem', count: 300 }] },
    ],
    ciphers: [
      { content_encryption: 'aes-256-gcm', key_management: 'rsaes-oaep-sha256', rsa_bits: 2048, messages: 4000, status: 'approved' },
      { content_encryption: 'aes-256-gcm', key_management: 'ecdh-p256-sha256kdf-aes256wrap', messages: 2000, status: 'approved' },
    ],
    recipients: [
      { issuer: GATEWAY_CA, serial: '1a2b', messages: 2000, certificate: { subject: 'CN=paygate dev gateway', not_after: '2027-12-01T00:00:00Z', days_to_expiry: 359 } },
      { issuer: GATEWAY_CA, serial: '3c4d', messages: 2000, certificate: { subject: 'CN=shop-1', not_after: '2027-06-01T00:00:00Z', days_to_expiry: 176 } },
      { issuer: GATEWAY_CA, serial: '5e6f', messages: 2000, certificate: { subject: 'CN=paygate feed', not_after: '2027-03-01T00:00:00Z', days_to_expiry: 84 } },
    ],
    certificates: [
      { subject: 'CN=paygate dev gateway', issuer: GATEWAY_CA, serial: '1a2b', sha256: sha('gw'), not_before: '2026-12-01T00:00:00Z', not_after: '2027-12-01T00:00:00Z', days_to_expiry: 359, messages_to: 2000 },
      { subject: 'CN=shop-1', issuer: GATEWAY_CA, serial: '3c4d', sha256: sha('shop'), not_before: '2026-06-01T00:00:00Z', not_after: '2027-06-01T00:00:00Z', days_to_expiry: 176, messages_to: 2000 },
      { subject: 'CN=paygate feed', issuer: GATEWAY_CA, serial: '5e6f', sha256: sha('feed'), not_before: '2026-03-01T00:00:00Z', not_after: '2027-03-01T00:00:00Z', days_to_expiry: 84, messages_to: 2000 },
    ],
    anomalies: { total: 0, by_kind: {}, listed: [] },
    trail: {
      source: 'https://feeds.example.com/feeds/audit', records: 2000, first_time: '2026-12-01T00:00:00.120Z', last_time: '2026-12-06T23:59:59.100Z',
      matched_requests: 2000, matched_replies: 2000, replies_by_correlation: 0, replies_by_correlation_limit: 3, records_expected: 1990, messages_judged: 4000, refusals: [],
      chain: { intact: true, entries: 2034, checkpoints: 34 },
    },
  };
}

/** An empty capture, no trail, no certificate: every "nothing here" branch. */
function emptyReport(): ScanReport {
  return {
    paygate_traffic_scan: 1, generated_at: '2026-12-07T12:00:00.000Z', verdict: 'clean', limitations: [],
    capture: { path: '/srv/audit/empty', segments: 1, messages: 0, bytes: 0, sources: [] },
    policy: { require_gcm: false, min_rsa_bits: 2048, known_recipients: 0 },
    counts: { request: 0, reply: 0, events: 0, dead_letter: 0, other: 0, encrypted: 0, clear: 0 },
    providers: [], ciphers: [], recipients: [], certificates: [], anomalies: { total: 0, by_kind: {}, listed: [] },
  };
}

/** Anomalies listed in the troubled report: fewer than its total, so "N more not listed" shows. */
const LISTED = 150;

/** Every anomaly kind, twelve providers, refusals, expired and expiring certificates, a broken chain, more anomalies than listed. */
function troubledReport(): ScanReport {
  const base = cleanReport();
  const listed: Anomaly[] = Array.from({ length: LISTED }, (_, i) => {
    const kind = ANOMALY_KINDS[i % ANOMALY_KINDS.length] ?? 'clear_body';
    return kind === 'unseen_message'
      ? { kind, request_id: `0b9e${String(i).padStart(4, '0')}-0000-4000-8000-000000000000`, body_sha256: sha(`r${i}`), detail: 'request body digest never seen on the wire' }
      : { kind, seq: i + 1, time: '2026-12-02T10:00:00.000Z', destination: `/queue/paygate.p${i % 12}`, body_sha256: sha(`m${i}`), detail: kind === 'card_data' ? 'card number 411111******1111 in header x-note' : `${kind} at message ${i + 1}` };
  });
  const byKind = Object.fromEntries(ANOMALY_KINDS.map((k, i) => [k, 100 + i * 10]));
  const total = Object.values(byKind).reduce((a, n) => a + n, 0);
  const providers = Array.from({ length: 12 }, (_, i) => ({
    provider: `p${i}`, requests: 100 + i * 37, replies: 90 + i * 37, dead_letters: i % 3, by_type: [{ type: 'authorize', count: 60 + i }, { type: 'refund', count: 40 + i * 36 }],
  }));
  return {
    ...base,
    verdict: 'anomalies',
    limitations: [{ source: 'rabbitmq', limitation: 'headers_not_captured', detail: 'no STOMP headers: card numbers in headers were not looked for' }],
    capture: { ...base.capture, messages: 8329, segments: 5, sources: ['embedded', 'rabbitmq'] },
    policy: { require_gcm: true, min_rsa_bits: 3072, known_recipients: 2 },
    counts: { request: 2866, reply: 2746, events: 2700, dead_letter: 12, other: 5, encrypted: 8200, clear: 129 },
    providers,
    ciphers: [
      ...base.ciphers,
      { content_encryption: 'aes-256-cbc', key_management: 'rsaes-oaep-sha256', rsa_bits: 2048, messages: 130, status: 'weak' },
      { content_encryption: 'aes-256-gcm', key_management: 'rsaes-pkcs1-v1_5', rsa_bits: 2048, messages: 120, status: 'refused' },
      { content_encryption: 'aes-256-gcm', key_management: 'rsaes-oaep-sha256', rsa_bits: 1024, messages: 150, status: 'refused' },
      { content_encryption: '2.16.840.1.101.3.4.1.6', key_management: 'ecdh-p256-sha1kdf-aes256wrap', messages: 140, status: 'refused' },
    ],
    recipients: [...base.recipients.slice(0, 2), { issuer: 'CN=Evil CA', serial: '99', messages: 180 }],
    certificates: [
      ...base.certificates.slice(0, 1),
      { ...base.certificates[1]!, days_to_expiry: 12, not_after: '2026-12-19T00:00:00Z' },
      { ...base.certificates[2]!, days_to_expiry: -3, not_after: '2026-12-04T00:00:00Z' },
    ],
    anomalies: { total, by_kind: byKind, listed },
    trail: {
      ...base.trail!, records: 2900, matched_requests: 2700, matched_replies: 2650, replies_by_correlation: 12, replies_by_correlation_limit: 2, records_expected: 311, messages_judged: 5500,
      refusals: [{ code: 'CARD_DECLINED', count: 64 }, { code: 'VALIDATION_FAILED', count: 20 }, { code: 'DEAD_LETTER', count: 12 }],
      chain: { intact: false, entries: 1200, checkpoints: 19, broken: { seq: 1201, id: 'urn:uuid:7f1e0000-0000-4000-8000-000000000001', problem: 'altered', detail: 'its fields no longer hash to its recorded hash' } },
    },
  };
}

/** The figures the page must show for `r`: the data-figure contract, computed from the JSON alone. */
function expectedFigures(r: ScanReport): [string, string][] {
  const f: [string, string][] = [];
  const add = (name: string, value: string | number): void => void f.push([name, String(value)]);
  add('generated_at', r.generated_at); add('verdict', r.verdict); add('anomalies.total', r.anomalies.total); add('capture.messages', r.capture.messages);
  if (r.capture.first_time !== undefined && r.capture.last_time !== undefined) { add('capture.first_time', r.capture.first_time); add('capture.last_time', r.capture.last_time); }
  if (r.limitations.length > 0) {
    add('limitations', r.limitations.length);
    r.limitations.forEach((l, i) => { add(`limitation[${i + 1}].source`, l.source); add(`limitation[${i + 1}].limitation`, l.limitation); });
  }
  add('capture.path', r.capture.path); add('capture.sources', r.capture.sources.join(', ')); add('capture.segments', r.capture.segments); add('capture.bytes', r.capture.bytes);
  for (const k of [...MESSAGE_KINDS, 'encrypted', 'clear'] as const) add(`counts.${k}`, r.counts[k]);
  const t = r.trail;
  if (t === undefined) add('trail', 'none');
  else {
    add('trail.source', t.source); add('trail.records', t.records); add('trail.matched_requests', t.matched_requests); add('trail.matched_replies', t.matched_replies); add('trail.replies_by_correlation', t.replies_by_correlation);
    add('trail.replies_by_correlation_limit', t.replies_by_correlation_limit); add('trail.records_expected', t.records_expected); add('trail.messages_judged', t.messages_judged);
    if (t.first_time !== undefined && t.last_time !== undefined) { add('trail.first_time', t.first_time); add('trail.last_time', t.last_time); }
  }
  add('chain.status', t?.chain === undefined ? 'not_checked' : t.chain.intact ? 'intact' : 'broken');
  if (t?.chain !== undefined) {
    add('chain.entries', t.chain.entries); add('chain.checkpoints', t.chain.checkpoints);
    if (t.chain.broken) { add('chain.broken.seq', t.chain.broken.seq); add('chain.broken.id', t.chain.broken.id); add('chain.broken.problem', t.chain.broken.problem); }
  }
  for (const c of r.ciphers) {
    const key = `cipher:${c.content_encryption}/${c.key_management}${c.rsa_bits === undefined ? '' : `/${c.rsa_bits}`}`;
    add(key, c.messages); add(`${key}.status`, c.status);
  }
  r.recipients.forEach((x, i) => {
    add(`recipient[${i + 1}].issuer`, x.issuer); add(`recipient[${i + 1}].serial`, x.serial); add(`recipient[${i + 1}].messages`, x.messages);
    if (x.certificate) add(`recipient[${i + 1}].days_to_expiry`, x.certificate.days_to_expiry);
  });
  if (r.certificates.length > 0) {
    add('certificates.expired', r.certificates.filter((c) => c.days_to_expiry < 0).length);
    add('certificates.expiring', r.certificates.filter((c) => c.days_to_expiry >= 0 && c.days_to_expiry < 30).length);
  }
  r.certificates.forEach((c, i) => {
    const n = `certificate[${i + 1}]`;
    add(`${n}.subject`, c.subject); add(`${n}.serial`, c.serial); add(`${n}.not_after`, c.not_after); add(`${n}.days_to_expiry`, c.days_to_expiry); add(`${n}.messages_to`, c.messages_to);
  });
  r.providers.forEach((p, i) => {
    const n = `provider[${i + 1}]`;
    add(`${n}.name`, p.provider); add(`${n}.requests`, p.requests); add(`${n}.replies`, p.replies); add(`${n}.dead_letters`, p.dead_letters);
    if (t !== undefined) p.by_type.forEach((x, j) => { add(`${n}.type[${j + 1}].name`, x.type); add(`${n}.type[${j + 1}].count`, x.count); });
  });
  if (t !== undefined) {
    add('refusals.total', t.refusals.reduce((a, x) => a + x.count, 0));
    t.refusals.forEach((x, i) => { add(`refusal[${i + 1}].code`, x.code); add(`refusal[${i + 1}].count`, x.count); });
  }
  for (const [k, n] of Object.entries(r.anomalies.by_kind)) if (n !== undefined && n > 0) add(`anomalies.kind:${k}`, n);
  if (r.anomalies.total > 0) {
    add('anomalies.listed', r.anomalies.listed.length);
    if (r.anomalies.total > r.anomalies.listed.length) add('anomalies.unlisted', r.anomalies.total - r.anomalies.listed.length);
    r.anomalies.listed.forEach((a, i) => { add(`anomaly[${i + 1}].kind`, a.kind); if (a.seq !== undefined) add(`anomaly[${i + 1}].seq`, a.seq); });
  }
  add('policy.require_gcm', String(r.policy.require_gcm)); add('policy.min_rsa_bits', r.policy.min_rsa_bits); add('policy.known_recipients', r.policy.known_recipients);
  add('version', r.paygate_traffic_scan);
  return f;
}

const sorted = (pairs: [string, string][]): [string, string][] => [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** Writes a page where a person can open it after the run, beside its screenshot. */
function write(name: string, html: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `audit-report-${name}.html`);
  writeFileSync(path, html);
  return path;
}

describe('renderReportHtml', () => {
  it('is one document with no script, no external reference, and a policy that allows only its own stylesheet', () => {
    const html = renderReportHtml(troubledReport());
    expect(html).toBe(renderReportHtml(troubledReport())); // pure: regenerated from the JSON, the same bytes
    expect(html).not.toMatch(/<script|<img|<link|<iframe|\son[a-z]+=|\sstyle=/i);
    expect(html).not.toMatch(/(?:src|href)=(?!"#)/i); // the only links are to its own sections
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1]?.replaceAll('&#39;', "'");
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*';/);
    expect(csp).not.toMatch(/unsafe|https?:|data:|\*/);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? '');
    expect(styles).toHaveLength(1);
    expect(csp).toContain(`'sha256-${createHash('sha256').update(styles[0]!).digest('base64')}'`);
    expect(html.indexOf('Content-Security-Policy')).toBeLessThan(html.indexOf('<style>'));
  });
});

describe('the report in chromium', () => {
  for (const [name, make] of [['clean', cleanReport], ['troubled', troubledReport], ['empty', emptyReport]] as const) {
    it(`${name}: no request but its own, no console error, every figure equal to the JSON, a screenshot`, async () => {
      const report = make();
      const path = write(name, renderReportHtml(report));
      const v = await visit(browser, path);
      try {
        const figures = await pageFigures(v.page);
        const names = figures.map(([n]) => n);
        expect(new Set(names).size, 'a figure name appears twice').toBe(names.length);
        expect(sorted(figures)).toEqual(sorted(expectedFigures(report)));
        const shot = await screenshot(v.page, `audit-report-${name}`);
        expect(shot.width).toBeGreaterThan(500);
        expect(shot.height).toBeGreaterThan(name === 'empty' ? 500 : 1000);
        expect(v.requests).toEqual([v.url]);
        expect(v.console).toEqual([]);
        expect(v.pageErrors).toEqual([]);
      } finally {
        await v.close();
      }
    });
  }

  it('shows the verdict first, highlights expired and expiring certificates, names the broken link, counts what is not listed', async () => {
    const report = troubledReport();
    const v = await visit(browser, write('troubled-read', renderReportHtml(report)));
    try {
      const page = v.page;
      const firstSection = await page.$eval('main > section', (s) => [s.className, s.querySelector('h2')?.textContent]);
      expect(firstSection).toEqual(['verdict failed', 'Anomalies found']);
      expect(await page.$$eval('tr.expired [data-figure$=".days_to_expiry"]', (e) => e.map((x) => x.textContent))).toEqual(['-3']);
      expect(await page.$$eval('tr.soon [data-figure$=".days_to_expiry"]', (e) => e.map((x) => x.textContent))).toEqual(['12']);
      expect(await page.$$eval('tr.refused', (e) => e.length)).toBe(3);
      const text = await page.innerText('body');
      expect(text).toContain(`${report.anomalies.total - LISTED} more not listed`);
      expect(text).toMatch(/First broken link\s+seq 1201, entry urn:uuid:7f1e0000-0000-4000-8000-000000000001: altered: its fields no longer hash/);
      for (const kind of ANOMALY_KINDS) expect(text).toContain(kind);
      expect(await page.$$eval('svg.chart', (e) => e.map((s) => s.id))).toEqual(['chart-ciphers', 'chart-providers', 'chart-types', 'chart-refusals', 'chart-anomalies']);
      expect(await page.$$eval('#chart-providers > g > text.label', (e) => e.length)).toBe(12);
      expect(await page.$eval('main > section.verdict', (s) => s.querySelector('.limitations')?.textContent)).toContain('rabbitmq: headers_not_captured: no STOMP headers');
      const clean = await visit(browser, write('clean-read', renderReportHtml(cleanReport())));
      try {
        expect(await clean.page.$eval('main > section', (s) => [s.className, s.querySelector('h2')?.textContent])).toEqual(['verdict clean', 'Clean']);
        expect(await clean.page.$$eval('.limitations', (e) => e.length)).toBe(0);
        expect(await clean.page.innerText('section[aria-labelledby="scanned-h"]')).toMatch(/Records expected on the wire\s+1990 of the trail's records fall in the capture's time window/);
      } finally {
        await clean.close();
      }
      // A clean scan of a capture that could not show everything says so in the verdict itself.
      const limited: ScanReport = { ...cleanReport(), limitations: troubledReport().limitations };
      const caveat = await visit(browser, write('clean-limited', renderReportHtml(limited)));
      try {
        expect(await caveat.page.$eval('main > section', (s) => [s.className, s.querySelector('h2')?.textContent, s.querySelector('.limitations li')?.textContent]))
          .toEqual(['verdict clean', 'Clean, with limitations', 'rabbitmq: headers_not_captured: no STOMP headers: card numbers in headers were not looked for']);
        await screenshot(caveat.page, 'audit-report-clean-limited');
      } finally {
        await caveat.close();
      }
    } finally {
      await v.close();
    }
  });

  it('hostile values from the capture and the trail are shown as text: nothing runs, nothing loads, no card number in clear', async () => {
    const pan = '4111111111111111';
    const payloads = ['<script>window.__pwned=1</script>', '"><img src=x onerror="window.__pwned=2">', '</style><script>window.__pwned=3</script>', `'><svg onload=alert(1)>${pan}`, `</title></svg><iframe src="http://127.0.0.1:9/">`];
    const evil = (i: number): string => payloads[i % payloads.length] ?? '';
    const r = troubledReport();
    const hostile: ScanReport = {
      ...r,
      capture: { ...r.capture, path: evil(0), sources: [evil(1)] },
      providers: r.providers.map((p, i) => ({ ...p, provider: evil(i), by_type: [{ type: evil(i + 1), count: 3 }] })),
      ciphers: [...r.ciphers, { content_encryption: evil(2), key_management: evil(3), messages: 1, status: 'refused' }],
      recipients: [{ issuer: evil(3), serial: evil(4), messages: 1, certificate: { subject: evil(0), not_after: evil(1), days_to_expiry: 1 } }],
      certificates: [{ ...r.certificates[0]!, subject: evil(1), issuer: evil(2), serial: evil(3), sha256: evil(4), not_before: evil(0), not_after: evil(3) }],
      anomalies: { ...r.anomalies, listed: r.anomalies.listed.slice(0, 20).map((a, i) => ({ ...a, destination: evil(i), detail: evil(i + 2), request_id: evil(i + 3) })) },
      limitations: [{ source: evil(0), limitation: 'headers_not_captured', detail: evil(3) }],
      trail: { ...r.trail!, source: evil(3), refusals: [{ code: evil(0), count: 1 }, { code: evil(3), count: 2 }], chain: { intact: false, entries: 1, checkpoints: 0, broken: { seq: 2, id: evil(3), problem: evil(1), detail: evil(2) } } },
    };
    const html = renderReportHtml(hostile);
    expect(findPans(html)).toEqual([]);
    const v = await visit(browser, write('hostile', html));
    try {
      const page = v.page;
      expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
      expect(await page.$$eval('script, img, iframe, object, embed, link, base, form, body svg:not(.chart)', (e) => e.map((x) => x.outerHTML))).toEqual([]);
      expect(await page.$$eval('*', (e) => e.flatMap((x) => x.getAttributeNames().filter((a: string) => a.startsWith('on'))))).toEqual([]);
      const text = await page.innerText('body');
      for (const p of payloads.slice(0, 3)) expect(text).toContain(p);
      expect(text).toContain("'><svg onload=alert(1)>411111******1111");
      expect(text).not.toContain(pan);
      expect(await page.$$eval('style', (e) => e.length)).toBe(1);
      expect(v.requests).toEqual([v.url]);
      expect(v.console).toEqual([]);
      expect(v.pageErrors).toEqual([]);
      await screenshot(page, 'audit-report-hostile');
    } finally {
      await v.close();
    }
  });

  it('the harness sees what it must refuse: a page that fetches, logs an error and throws is caught on each count', async () => {
    const bad = write('bad', '<!DOCTYPE html><html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head>'
      + '<body><p data-figure="x">1</p><img src="http://127.0.0.1:9/x.png"><script>console.error("oops"); throw new Error("boom")</script></body></html>');
    const v = await visit(browser, bad);
    try {
      expect(v.requests).toEqual([v.url, 'http://127.0.0.1:9/x.css', 'http://127.0.0.1:9/x.png']);
      expect(v.console.some((m) => m.includes('oops'))).toBe(true);
      expect(v.pageErrors).toEqual(['boom']);
      expect(await pageFigures(v.page)).toEqual([['x', '1']]);
    } finally {
      await v.close();
    }
  });
});
