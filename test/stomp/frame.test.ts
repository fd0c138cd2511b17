/**
 * The STOMP frame codec: incremental parsing across arbitrary chunk boundaries, escaping per
 * version, content-length with binary bodies, limits, and the serializer.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame, escapeHeader, FrameError, FrameParser, SERVER_COMMANDS, unescapeHeader } from '../../src/stomp/frame.ts';
import type { Frame, FrameLimits, StompVersion } from '../../src/stomp/frame.ts';

function parseAll(chunks: Array<Buffer | string>, options: { version?: StompVersion; limits?: Partial<FrameLimits> } = {}): Frame[] {
  const parser = new FrameParser(options.limits);
  if (options.version) parser.version = options.version;
  const frames: Frame[] = [];
  for (const chunk of chunks) parser.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk, (f) => frames.push(f));
  return frames;
}

function parseError(input: string | Buffer, options: { version?: StompVersion; limits?: Partial<FrameLimits> } = {}): FrameError {
  try {
    parseAll([input], options);
  } catch (error) {
    if (error instanceof FrameError) return error;
    throw error;
  }
  throw new Error('expected a FrameError');
}

const plain = (f: Frame): { command: string; headers: Record<string, string>; body: string } => ({
  command: f.command,
  headers: { ...f.headers },
  body: f.body.toString('latin1'),
});

describe('FrameParser', () => {
  const wire = 'SEND\ndestination:/queue/a\nx:1\n\nhello\0';

  it('parses one frame', () => {
    expect(parseAll([wire]).map(plain)).toEqual([{ command: 'SEND', headers: { destination: '/queue/a', x: '1' }, body: 'hello' }]);
  });

  it('gives the same frames for every split of the input into two chunks, and byte by byte', () => {
    const input = Buffer.from(`\n${wire}\r\n\nMESSAGE\r\na:b\r\ncontent-length:3\r\n\r\na\0b\0\n`, 'latin1');
    const whole = parseAll([input]).map(plain);
    expect(whole).toHaveLength(2);
    expect(whole[1]).toEqual({ command: 'MESSAGE', headers: { a: 'b', 'content-length': '3' }, body: 'a\0b' });
    for (let cut = 0; cut <= input.length; cut++) {
      expect(parseAll([input.subarray(0, cut), input.subarray(cut)]).map(plain)).toEqual(whole);
    }
    expect(parseAll([...input].map((byte) => Buffer.from([byte]))).map(plain)).toEqual(whole);
  });

  it('parses several frames in one chunk and skips heart-beat EOLs between them', () => {
    const frames = parseAll([`\n\r\n${wire}\n\n${wire}\r\n${wire}`]);
    expect(frames.map((f) => f.command)).toEqual(['SEND', 'SEND', 'SEND']);
  });

  it('honours content-length: NULs in a binary body, and a body that is not UTF-8', () => {
    const body = Buffer.from([0, 1, 2, 0xff, 0, 0xfe]);
    const frame = encodeFrame('SEND', { destination: '/queue/b' }, body);
    const [parsed] = parseAll([frame]);
    expect(parsed?.body.equals(body)).toBe(true);
    expect(parsed?.headers['content-length']).toBe('6');
  });

  it('refuses bytes other than NUL where content-length says the body ends', () => {
    expect(parseError('SEND\ncontent-length:2\n\nabc\0').code).toBe('STOMP_MALFORMED_FRAME');
    expect(parseError('SEND\ncontent-length:-1\n\n\0').code).toBe('STOMP_MALFORMED_FRAME');
    expect(parseError('SEND\ncontent-length:1x\n\n\0').code).toBe('STOMP_MALFORMED_FRAME');
  });

  it('keeps the first of repeated headers', () => {
    expect(parseAll(['MESSAGE\nfoo:1\nfoo:2\n\n\0'])[0]?.headers.foo).toBe('1');
  });

  it('accepts header names such as constructor and __proto__ as plain headers', () => {
    const [frame] = parseAll(['SEND\nconstructor:a\n__proto__:b\ntoString:c\n\n\0']);
    expect(frame?.headers.constructor).toBe('a');
    expect(Object.keys(frame?.headers ?? {})).toEqual(['constructor', '__proto__', 'toString']);
  });

  it('refuses a header line without a colon', () => {
    expect(parseError('SEND\nnocolon\n\n\0').code).toBe('STOMP_MALFORMED_FRAME');
  });

  it('copies bodies, so a frame outlives the chunk it came in', () => {
    const chunk = Buffer.from(wire, 'latin1');
    const [frame] = parseAll([chunk]);
    chunk.fill(0x41);
    expect(frame?.body.toString()).toBe('hello');
  });

  it('refuses unknown commands as soon as the command line is complete, when given a command set', () => {
    const parser = new FrameParser({}, SERVER_COMMANDS);
    expect(() => parser.push(Buffer.from('BOGUS\n'), () => {})).toThrow(expect.objectContaining({ code: 'STOMP_UNKNOWN_COMMAND' }));
  });
});

describe('header escaping', () => {
  const raw = 'a:b\\c\nd';

  it('1.2 escapes \\\\, \\n, \\c and \\r; 1.1 all but \\r; 1.0 none', () => {
    expect(escapeHeader(`${raw}\r`, '1.2')).toBe('a\\cb\\\\c\\nd\\r');
    expect(escapeHeader(raw, '1.1')).toBe('a\\cb\\\\c\\nd');
    expect(escapeHeader(raw, '1.0')).toBe(raw);
  });

  it('round-trips headers through the serializer and the parser for 1.1 and 1.2', () => {
    for (const version of ['1.1', '1.2'] as const) {
      const value = version === '1.2' ? `${raw}\r:x` : `${raw}:x`;
      const frame = encodeFrame('MESSAGE', { 'k:\n': value }, 'body', version);
      const [parsed] = parseAll([frame], { version });
      expect(parsed?.headers['k:\n']).toBe(value);
    }
  });

  it('unescapes per version and refuses undefined sequences', () => {
    expect(unescapeHeader('a\\cb\\\\\\n\\r', '1.2')).toBe('a:b\\\n\r');
    expect(unescapeHeader('a\\cb', '1.0')).toBe('a\\cb');
    expect(() => unescapeHeader('\\r', '1.1')).toThrow(expect.objectContaining({ code: 'STOMP_BAD_ESCAPE' }));
    expect(() => unescapeHeader('\\t', '1.2')).toThrow(expect.objectContaining({ code: 'STOMP_BAD_ESCAPE' }));
    expect(() => unescapeHeader('trailing\\', '1.2')).toThrow(expect.objectContaining({ code: 'STOMP_BAD_ESCAPE' }));
    expect(parseError('SEND\nx:a\\tb\n\n\0').code).toBe('STOMP_BAD_ESCAPE');
  });

  it('leaves CONNECT and CONNECTED headers raw in every version', () => {
    const [parsed] = parseAll(['CONNECT\npasscode:a\\tb\n\n\0']);
    expect(parsed?.headers.passcode).toBe('a\\tb');
    const encoded = encodeFrame('CONNECTED', { server: 'x:y' }, '', '1.2').toString();
    expect(encoded).toContain('server:x:y\n');
  });
});

describe('limits', () => {
  it('refuses a frame larger than maxFrameSize, whether it declares it or not', () => {
    const limits = { maxFrameSize: 100 };
    expect(parseError(`SEND\ncontent-length:101\n\n`, { limits }).code).toBe('STOMP_FRAME_TOO_LARGE');
    expect(parseError(`SEND\n\n${'x'.repeat(200)}`, { limits }).code).toBe('STOMP_FRAME_TOO_LARGE');
    expect(parseAll([`SEND\n\n${'x'.repeat(90)}\0`], { limits })).toHaveLength(1);
  });

  it('counts a body arriving in many chunks against maxFrameSize', () => {
    const parser = new FrameParser({ maxFrameSize: 1000 });
    parser.push(Buffer.from('SEND\n\n'), () => {});
    const push = (): void => parser.push(Buffer.alloc(100, 0x78), () => {});
    for (let i = 0; i < 9; i++) push();
    expect(parser.buffered).toBe(900);
    expect(push).toThrow(expect.objectContaining({ code: 'STOMP_FRAME_TOO_LARGE' }));
  });

  it('reassembles large bodies from many chunks, with and without content-length', () => {
    const body = Buffer.alloc(300_000, 0x61);
    body[1234] = 0; // a NUL inside: content-length must be honoured
    const framed = encodeFrame('SEND', { destination: '/q' }, body);
    const plain = Buffer.concat([Buffer.from('SEND\n\n'), Buffer.alloc(200_000, 0x62), Buffer.from([0])]);
    const input = Buffer.concat([framed, plain, framed]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < input.length; i += 4099) chunks.push(input.subarray(i, i + 4099));
    const frames = parseAll(chunks);
    expect(frames.map((f) => f.body.length)).toEqual([300_000, 200_000, 300_000]);
    expect(frames[0]?.body.equals(body)).toBe(true);
    expect(frames[2]?.body.equals(body)).toBe(true);
  });

  it('refuses too many headers and too long header lines, even before the line ends', () => {
    const headers = Array.from({ length: 5 }, (_, i) => `h${i}:v\n`).join('');
    expect(parseError(`SEND\n${headers}\n\0`, { limits: { maxHeaders: 4 } }).code).toBe('STOMP_TOO_MANY_HEADERS');
    expect(parseAll([`SEND\n${headers}\n\0`], { limits: { maxHeaders: 5 } })).toHaveLength(1);
    expect(parseError(`SEND\nh:${'v'.repeat(100)}\n\n\0`, { limits: { maxHeaderLength: 50 } }).code).toBe('STOMP_HEADER_TOO_LONG');
    expect(parseError(`SEND\nh:${'v'.repeat(100)}`, { limits: { maxHeaderLength: 50 } }).code).toBe('STOMP_HEADER_TOO_LONG');
  });
});

describe('encodeFrame', () => {
  it('writes content-length in bytes, replacing any given one', () => {
    const text = encodeFrame('SEND', { destination: '/q', 'content-length': '1' }, 'héllo').toString('utf8');
    expect(text).toBe('SEND\ndestination:/q\ncontent-length:6\n\nhéllo\0');
  });

  it('turns CR and LF into spaces where there is no escaping (1.0, CONNECTED), so no header can be injected', () => {
    expect(encodeFrame('MESSAGE', { a: 'x\ny\r\nz:1' }, '', '1.0').toString()).toBe('MESSAGE\na:x y  z:1\n\n\0');
    expect(encodeFrame('CONNECTED', { server: 'a\nb' }).toString()).toBe('CONNECTED\nserver:a b\n\n\0');
  });

  it('writes no content-length for an empty body', () => {
    expect(encodeFrame('RECEIPT', { 'receipt-id': '7' }).toString()).toBe('RECEIPT\nreceipt-id:7\n\n\0');
  });
});
