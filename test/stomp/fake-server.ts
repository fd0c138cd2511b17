// A scripted STOMP server for the connection layer's unit tests: it parses what the client
// sends (test/helpers/brokers.ts's raw codec) and answers as each test tells it to, including
// in ways no real broker would on demand (silence, garbage, a short ERROR, no RECEIPT).
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { encodeFrame, takeFrame } from '../helpers/brokers.ts';
import type { StompFrame, StompHeaders } from '../helpers/brokers.ts';

/** Answers one client frame; `reply` writes raw bytes to that client. */
export type Script = (frame: StompFrame, reply: (bytes: Buffer | string) => void, socket: Socket) => void;

/** CONNECTED, the way a STOMP 1.2 broker answers CONNECT. */
export const connected = (headers: StompHeaders = {}): Buffer =>
  encodeFrame('CONNECTED', { version: '1.2', server: 'Fake/1.0', 'heart-beat': '0,0', ...headers });

/** Answers CONNECT with CONNECTED and every frame that asks for one with a RECEIPT. */
export const polite: Script = (frame, reply) => {
  if (frame.command === 'CONNECT' || frame.command === 'STOMP') reply(connected());
  else if (frame.headers.receipt !== undefined) reply(encodeFrame('RECEIPT', { 'receipt-id': frame.headers.receipt }));
};

export class FakeStompServer {
  /** Every frame received, with its raw bytes, in order. */
  readonly frames: { frame: StompFrame; raw: Buffer }[] = [];
  readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(script: Script = polite): Promise<FakeStompServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    const fake = new FakeStompServer(server, address.port);
    server.on('connection', (socket: Socket) => fake.serve(socket, script));
    return fake;
  }

  private serve(socket: Socket, script: Script): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let taken = takeFrame(buffer); taken; taken = takeFrame(buffer)) {
        const raw = buffer.subarray(0, buffer.length - taken.rest.length);
        buffer = taken.rest;
        this.frames.push({ frame: taken.frame, raw });
        script(taken.frame, (bytes) => socket.write(bytes), socket);
      }
    });
  }

  /** The frames received with this command. */
  received(command: string): StompFrame[] {
    return this.frames.filter((f) => f.frame.command === command).map((f) => f.frame);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
