// Everything the player can ask the server to do, in one place.
// UI modules call these; they never build frames themselves.
import { findPath, destinationOf } from './path.js';

const MOVE_GAP_MS = 150;
const TYPING_GAP_MS = 2000;
export const TALK_RANGE = 3; // tiles

export class Commands {
  constructor({ net, store, renderer, getMap }) {
    this.net = net;
    this.store = store;
    this.renderer = renderer;
    this.getMap = getMap;
    this._lastMove = 0;
    this._lastTyping = 0;
    this._queuedStep = null;
    this._stepFrom = null; // {tile, at}: keyboard steps chain from the last target
    this.quiet = new Set(); // frame ids whose errors a dialog shows itself
  }

  #myTile() {
    const pos = this.store.positionOf(this.store.you.player);
    return pos ? [Math.round(pos.x), Math.round(pos.y)] : null;
  }

  /** Walk to a tile (click/tap). Shows a preview until the server's path arrives. */
  moveTo(x, y) {
    const map = this.getMap();
    const me = this.store.me;
    if (!me || !map) return false;
    if (map.isBlocked(x, y)) return false;
    const from = this.#myTile();
    const tiles = from ? findPath(map.width, map.height, (a, b) => map.isBlocked(a, b), from, [x, y]) : null;
    this.renderer.preview = { tiles, target: [x, y], at: performance.now() };
    this._lastMove = performance.now();
    this.net.send('move', { x, y });
    return true;
  }

  /** One tile in a direction (keyboard). At most one move per MOVE_GAP_MS; the latest key wins. */
  step(dx, dy) {
    const now = performance.now();
    const wait = MOVE_GAP_MS - (now - this._lastMove);
    if (wait > 0) {
      if (!this._queuedStep) setTimeout(() => {
        const q = this._queuedStep;
        this._queuedStep = null;
        if (q) this.step(q[0], q[1]);
      }, wait);
      this._queuedStep = [dx, dy];
      return;
    }
    const map = this.getMap();
    const me = this.store.me;
    if (!me || !map) return;
    const base = this._stepFrom && now - this._stepFrom.at < 500 ? this._stepFrom.tile : this.#myTile();
    if (!base) return;
    const target = [base[0] + dx, base[1] + dy];
    if (map.isBlocked(target[0], target[1])) return;
    this._stepFrom = { tile: target, at: now };
    this._lastMove = now;
    this.renderer.preview = { tiles: null, target, at: now };
    this.net.send('move', { x: target[0], y: target[1] });
  }

  /** Tile distance between me and someone (Infinity if unknown). */
  distanceTo(id) {
    const a = this.store.positionOf(this.store.you.player);
    const b = this.store.positionOf(id);
    if (!a || !b) return Infinity;
    return Math.hypot(a.x - b.x, a.y - b.y);
  }

  /** Walk next to someone: the free neighbour tile closest to me. */
  walkTowards(id) {
    const map = this.getMap();
    const other = this.store.players.get(id);
    const from = this.#myTile();
    if (!map || !other || !from) return;
    const [ox, oy] = destinationOf(other).map(Math.round);
    const spots = [[ox, oy + 1], [ox - 1, oy], [ox + 1, oy], [ox, oy - 1], [ox + 1, oy + 1], [ox - 1, oy + 1]]
      .filter(([x, y]) => !map.isBlocked(x, y))
      .sort((a, b) => Math.hypot(a[0] - from[0], a[1] - from[1]) - Math.hypot(b[0] - from[0], b[1] - from[1]));
    if (spots.length) this.moveTo(spots[0][0], spots[0][1]);
  }

  invite(id) {
    return this.net.send('invite', { to: id });
  }

  accept(conversation) {
    return this.net.send('accept', { conversation });
  }

  decline(conversation) {
    return this.net.send('decline', { conversation });
  }

  say(conversation, text, onReply) {
    this._lastTyping = 0;
    return this.net.send('say', { conversation, text }, { onReply });
  }

  /** Throttled to one frame per TYPING_GAP_MS; never resent after a reconnect. */
  typing(conversation) {
    const now = performance.now();
    if (now - this._lastTyping < TYPING_GAP_MS) return;
    this._lastTyping = now;
    this.net.send('typing', { conversation }, { resend: false });
  }

  /** Join a conversation under way nearby (a group of up to six). */
  joinConversation(conversation) {
    return this.net.send('join_conversation', { conversation });
  }

  leaveConversation(conversation) {
    return this.net.send('leave_conversation', { conversation });
  }

  join(name, character, onReply) {
    this.store.pendingJoinName = name;
    const id = this.net.send('join', { name, character }, { onReply });
    this.quiet.add(id); // the join dialog shows its own errors
    return id;
  }

  leave() {
    return this.net.send('leave', {});
  }

  freeze() {
    return this.net.send('freeze', {});
  }

  resume() {
    return this.net.send('resume', {});
  }

}
