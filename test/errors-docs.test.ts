import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BROKER_ERROR_CODES } from '../src/broker/errors.ts';
import { CERTS_ERROR_CODES } from '../src/certs/errors.ts';
import { CLIENT_ERROR_CODES } from '../src/client/errors.ts';
import { PROVIDER_ERROR_CODES } from '../src/providers/errors.ts';
import { TRANSPORT_ERROR_CODES } from '../src/providers/transport-errors.ts';
import { STOMP_ERROR_CODES } from '../src/stomp/errors.ts';
import { FRAME_ERROR_CODES } from '../src/stomp/frame.ts';
import { WIRE_ERROR_CODES } from '../src/wire/errors.ts';
import { CONFIG_ERROR_CODES } from '../src/worker/config.ts';
import { WORKER_ERROR_CODES } from '../src/worker/errors.ts';
import { LOG_ERROR_CODES } from '../src/logging.ts';
import { DEMO_ERROR_CODES } from '../src/cli/demo/errors.ts';
import { CLI_ERROR_CODES } from '../src/cli/errors.ts';
import { TEST_KIT_ERROR_CODES } from '../src/provider-test-kit.ts';
import { FEED_ERROR_CODES } from '../src/feed/errors.ts';
import { AUDIT_ERROR_CODES } from '../src/audit/errors.ts';
import { FEED_PROTOCOL_ERROR_CODES } from '../src/feed/protocol-errors.ts';
import { EVENTS_ERROR_CODES } from '../src/feed/events-errors.ts';
import { SUPERVISOR_ERROR_CODES } from '../src/supervisor/errors.ts';
import { METRICS_ERROR_CODES } from '../src/supervisor/metrics.ts';
import { STATUS_SERVER_ERROR_CODES } from '../src/supervisor/status-server.ts';

const catalogue = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

describe('docs/errors.md', () => {
  it.each([
    ...WIRE_ERROR_CODES, ...CERTS_ERROR_CODES, ...STOMP_ERROR_CODES, ...FRAME_ERROR_CODES, ...BROKER_ERROR_CODES, ...PROVIDER_ERROR_CODES, ...TRANSPORT_ERROR_CODES, ...CLIENT_ERROR_CODES, ...WORKER_ERROR_CODES, ...CONFIG_ERROR_CODES,
    ...LOG_ERROR_CODES, ...SUPERVISOR_ERROR_CODES, ...STATUS_SERVER_ERROR_CODES, ...METRICS_ERROR_CODES, ...DEMO_ERROR_CODES,
    ...CLI_ERROR_CODES, ...TEST_KIT_ERROR_CODES, ...FEED_ERROR_CODES, ...AUDIT_ERROR_CODES, ...FEED_PROTOCOL_ERROR_CODES, ...EVENTS_ERROR_CODES,
  ])('documents %s', (code) => {
    expect(catalogue).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });
});
