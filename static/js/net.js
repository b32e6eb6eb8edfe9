// The WebSocket to one world: reconnect with back-off, heartbeat, and resend of
// change-frames the server has not acknowledged yet (the server dedupes by id).
//
// Emits: 'frame' (every parsed server frame), 'status' ({state, attempt, delay, code}).
import { Emitter } from './emitter.js';

const HEARTBEAT_MS = 30_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;

export function newFrameId() {
  const raw = globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return raw.slice(0, 64);
}

/** Turn "/ws/world/1/" into an absolute ws:// or wss:// URL on this host. */
export function socketUrl(path) {
  if (/^wss?:\/\//.test(path)) return path;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${path.startsWith('/') ? '' : '/'}${path}`;
}

export class Connection extends Emitter {
  constructor(path) {
    super();
    this.url = socketUrl(path);
    this.ws = null;
    this.attempt = 0;
    this.pending = new Map(); // id -> frame, in send order
    this.replies = new Map(); // id -> callback(frame)
    this.state = 'idle';
    this._heartbeat = null;
    this._retry = null;
    this.view = null; // the tiles on screen, told to the server (docs/protocol.md, `view`)
  }

  start() {
    this.#open();
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) this.heartbeat();
    });
  }

  get isOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /**
   * Send a change-frame with a fresh id. It is kept until acknowledged (or refused)
   * and resent after a reconnect. `onReply(frame)` receives the ack or the error.
   */
  send(type, fields = {}, { resend = true, onReply } = {}) {
    const id = newFrameId();
    const frame = { type, id, ...fields };
    if (resend) this.pending.set(id, frame);
    if (onReply) this.replies.set(id, onReply);
    this.#write(frame);
    return id;
  }

  /**
   * Tell the server which tiles are on screen ({x0, y0, x1, y1}); it then sends movement far
   * outside them only as a summary every few seconds. Needs no answer; resent on reconnect.
   */
  setView(rect) {
    const v = this.view;
    if (v && v.x0 === rect.x0 && v.y0 === rect.y0 && v.x1 === rect.x1 && v.y1 === rect.y1) return;
    this.view = { ...rect };
    this.#write({ type: 'view', ...this.view });
  }

  heartbeat() {
    if (!document.hidden) this.#write({ type: 'heartbeat' });
  }

  #open() {
    clearTimeout(this._retry);
    this.state = this.attempt ? 'reconnecting' : 'connecting';
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      console.error('[town] socket failed to open', err);
      this.#scheduleRetry(0);
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.state = 'open';
      this.emit('status', { state: 'open' });
      this.#write({ type: 'heartbeat' });
      if (this.view) this.#write({ type: 'view', ...this.view });
      for (const frame of this.pending.values()) this.#write(frame);
      clearInterval(this._heartbeat);
      this._heartbeat = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
    });
    ws.addEventListener('message', (e) => this.#receive(e.data));
    ws.addEventListener('close', (e) => {
      if (this.ws !== ws) return;
      clearInterval(this._heartbeat);
      this.ws = null;
      this.#scheduleRetry(e.code);
    });
  }

  #scheduleRetry(code) {
    this.attempt += 1;
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.attempt - 1));
    const delay = Math.round(cap * (0.6 + Math.random() * 0.4)); // jitter so a restart is not a stampede
    this.state = 'reconnecting';
    this.emit('status', { state: 'reconnecting', attempt: this.attempt, delay, code });
    this._retry = setTimeout(() => this.#open(), delay);
  }

  #receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn('[town] ignoring a non-JSON frame');
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if ((msg.type === 'ack' || msg.type === 'error') && msg.id != null) {
      this.pending.delete(msg.id);
      const cb = this.replies.get(msg.id);
      this.replies.delete(msg.id);
      if (cb) {
        try {
          cb(msg);
        } catch (err) {
          console.error(err);
        }
      }
    }
    this.emit('frame', msg);
  }

  #write(frame) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }
}
