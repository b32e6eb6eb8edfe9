// Town state built from `hello`, `snapshot` and `events` frames. No DOM here.
//
// Emits: 'hello', 'snapshot', 'roster' (players added/removed/changed),
// 'move' (player id), 'conversation' (conversation), 'message' (message),
// 'typing' (player id), 'status' (world status), 'music' (url), 'me' (my player id),
// 'invited' (conversation where I am the invitee), 'forgotten' (ids of removed messages),
// 'event' (every raw event).
import { Emitter } from './emitter.js';
import { WorldClock } from './clock.js';
import { positionAt } from './path.js';
import { gettext } from './i18n.js';

const BUBBLE_MS = 6500;
const TYPING_MS = 4000;

export class Store extends Emitter {
  constructor() {
    super();
    this.you = { user: null, player: null };
    this.mind = null;
    this.world = null; // {id, name, status}
    this.mapUrl = null;
    this.music = null;
    this.time = new WorldClock();
    this.players = new Map();
    this.conversations = new Map();
    this.messages = new Map(); // conversation id -> Map(message id -> message)
    this.olderAvailable = new Map(); // conversation id -> bool (more history on the server)
    this.bubbles = new Map(); // player id -> {text, at}
    this.typing = new Map(); // player id -> {conversation, at}
    this.synced = false;
    this.pendingJoinName = null;
    // Residents thinking with the offline mind right now (snapshot `minds_offline`, the
    // `mind` event's `offline`; absent means none).
    this.mindsOffline = new Set();
  }

  /** Whether a resident is thinking offline while the town otherwise uses its model. */
  thinksOffline(id) {
    return this.mindsOffline.has(id);
  }

  get me() {
    return this.you.player != null ? this.players.get(this.you.player) ?? null : null;
  }

  worldNow(perfNow) {
    return this.time.now(perfNow);
  }

  clock(perfNow) {
    return this.time.game(perfNow);
  }

  /** Tile position of a player right now. */
  positionOf(id, perfNow) {
    const p = this.players.get(id);
    return p ? positionAt(p, this.worldNow(perfNow)) : null;
  }

  /** The conversation I am part of that is not over yet (or null). */
  myConversation() {
    const me = this.you.player;
    if (me == null) return null;
    let found = null;
    for (const c of this.conversations.values()) {
      if (c.status !== 'ended' && (c.participants || []).includes(me)) found = c;
    }
    return found;
  }

  messagesOf(conversationId) {
    const map = this.messages.get(conversationId);
    if (!map) return [];
    return [...map.values()].sort((a, b) => (a.t ?? 0) - (b.t ?? 0) || cmpId(a.id, b.id));
  }

  nameOf(id) {
    return this.players.get(id)?.name ?? gettext('someone');
  }

  // ---- frames -------------------------------------------------------------

  applyHello(msg) {
    this.you = { user: msg.you?.user ?? null, player: msg.you?.player ?? null };
    this.mind = msg.mind ?? null;
    this.emit('hello', msg);
    this.emit('me', this.you.player);
  }

  applySnapshot(msg) {
    const w = msg.world || {};
    this.world = { id: w.id, name: w.name, status: w.status || 'running' };
    this.time.status = this.world.status;
    this.time.anchor(w.time ?? 0);
    this.time.setClock(w.clock, w.time ?? 0);
    this.mapUrl = msg.map ?? this.mapUrl;
    this.players = new Map((msg.players || []).map((p) => [p.id, { ...p }]));
    this.conversations = new Map((msg.conversations || []).map((c) => [c.id, { ...c }]));
    this.messages = new Map();
    for (const m of msg.messages || []) this.#addMessage(m, false);
    this.typing.clear();
    this.mindsOffline = new Set(Array.isArray(msg.minds_offline) ? msg.minds_offline : []);
    this.synced = true;
    if (this.you.player != null && !this.players.has(this.you.player)) this.#setMe(null);
    if (this.you.player == null) this.#claimMine();
    this.emit('snapshot', msg);
    this.emit('status', this.world.status);
    if ('music' in msg) this.#setMusic(msg.music);
    this.emit('roster');
    for (const c of this.conversations.values()) this.#maybeInvited(c);
  }

  /**
   * Apply an `events` frame's events. A `summary` frame (far movement the server held back
   * for our viewport) is older news: it places characters but does not set the clock.
   */
  applyEvents(events, { summary = false } = {}) {
    for (const ev of events || []) {
      try {
        this.#apply(ev, summary);
      } catch (err) {
        console.error('[town] could not apply event', ev, err);
      }
      this.emit('event', ev);
    }
  }

  /** An `ack` may tell us which player our `join` created. */
  applyAck(msg) {
    if (msg.player != null && this.you.player == null) this.#setMe(msg.player);
  }

  /** Prepend history fetched from messages_url. */
  addHistory(conversationId, messages, more) {
    for (const m of messages) this.#addMessage({ ...m, conversation: conversationId }, false);
    this.olderAvailable.set(conversationId, !!more);
  }

  // ---- internals ----------------------------------------------------------

  #apply(ev, summary = false) {
    if (!summary) this.time.observe(ev.t);
    switch (ev.kind) {
      case 'player_joined': {
        const p = { ...ev.player };
        this.players.set(p.id, p);
        if (this.you.player == null && this.#isMine(p)) this.#setMe(p.id);
        this.emit('roster');
        break;
      }
      case 'player_updated': {
        // An operator renamed or re-dressed someone: keep where they are and where they walk.
        const p = this.players.get(ev.player?.id);
        if (!p) break;
        const { x, y, path, t0, speed, facing, ...profile } = ev.player;
        Object.assign(p, profile);
        this.emit('roster');
        break;
      }
      case 'player_left': {
        const id = idOf(ev.player);
        this.players.delete(id);
        this.bubbles.delete(id);
        this.typing.delete(id);
        if (id === this.you.player) this.#setMe(null);
        this.emit('roster');
        break;
      }
      case 'move': {
        const p = this.players.get(idOf(ev.player));
        if (!p) break;
        // Remember where the old path ended so a stale position never flashes.
        const end = ev.path?.[ev.path.length - 1];
        Object.assign(p, { path: ev.path, t0: ev.t0 ?? ev.t, speed: ev.speed ?? p.speed });
        if (end) [p.x, p.y] = end;
        this.emit('move', p.id);
        break;
      }
      case 'conversation_invited':
      case 'conversation_accepted':
      case 'conversation_started': {
        const c = this.#upsertConversation(ev.conversation);
        if (ev.kind === 'conversation_started' && c.status === 'invited') c.status = 'walking';
        this.#linkPlayers(c);
        this.emit('conversation', c);
        this.#maybeInvited(c);
        this.emit('roster');
        break;
      }
      case 'conversation_joined': {
        // Someone walked up to a conversation under way: the object lists everyone now.
        const c = this.#upsertConversation(ev.conversation);
        this.#linkPlayers(c);
        this.emit('conversation', c);
        this.emit('roster');
        break;
      }
      case 'conversation_left': {
        const c = this.#upsertConversation(ev.conversation);
        const who = idOf(ev.player);
        c.left = [...(c.left || []), who];
        if (Array.isArray(ev.participants) && ev.participants.length >= 2) {
          // A group goes on without them; the first two stand in for inviter and invitee.
          c.participants = ev.participants;
          [c.inviter, c.invitee] = ev.participants;
        }
        const p = this.players.get(who);
        if (p && p.conversation === c.id) p.conversation = null;
        this.emit('conversation', c);
        this.emit('roster');
        break;
      }
      case 'conversation_ended': {
        const c = this.#upsertConversation(ev.conversation);
        c.status = 'ended';
        c.reason = ev.reason ?? c.reason;
        for (const p of this.players.values()) if (p.conversation === c.id) p.conversation = null;
        this.emit('conversation', c);
        this.emit('roster');
        break;
      }
      case 'message': {
        const m = { ...ev, conversation: idOf(ev.conversation) };
        delete m.kind;
        this.#addMessage(m, true);
        break;
      }
      case 'typing': {
        const pid = idOf(ev.player);
        this.typing.set(pid, { conversation: idOf(ev.conversation), at: performance.now() });
        this.emit('typing', pid);
        break;
      }
      case 'activity': {
        const p = this.players.get(idOf(ev.player));
        if (p) {
          p.activity = ev.text ?? ev.activity ?? '';
          this.emit('roster');
        }
        break;
      }
      case 'world_status': {
        this.world = { ...(this.world || {}), status: ev.status };
        this.time.setStatus(ev.status, ev.t);
        this.emit('status', ev.status);
        break;
      }
      case 'messages_forgotten': {
        // `town forget --user`: that person's lines leave every open page too.
        const gone = [];
        for (const box of this.messages.values()) {
          for (const [id, m] of box) if (m.author === ev.author) { box.delete(id); gone.push(id); }
        }
        this.bubbles.delete(ev.author);
        this.emit('forgotten', gone);
        break;
      }
      case 'music':
        this.#setMusic(ev.url ?? null);
        break;
      case 'announcement':
        this.emit('announcement', ev);
        break;
      case 'mind': {
        this.mind = ev.mode ?? null;
        this.mindsOffline = new Set(Array.isArray(ev.offline) ? ev.offline : []);
        this.emit('mind', this.mind);
        this.emit('roster');
        break;
      }
      default:
        break; // new kinds are allowed by the contract; ignore what we do not know
    }
  }

  #upsertConversation(ref) {
    if (ref && typeof ref === 'object') {
      const prev = this.conversations.get(ref.id) || {};
      const c = Object.assign(prev, ref);
      this.conversations.set(c.id, c);
      return c;
    }
    const c = this.conversations.get(ref) || { id: ref, participants: [], status: 'active' };
    this.conversations.set(ref, c);
    return c;
  }

  #linkPlayers(c) {
    if (c.status === 'ended' || c.status === 'invited') return; // an open invitation is not a conversation yet
    for (const pid of c.participants || []) {
      const p = this.players.get(pid);
      if (p) p.conversation = c.id;
    }
  }

  #maybeInvited(c) {
    if (c.status === 'invited' && this.you.player != null && c.invitee === this.you.player) {
      this.emit('invited', c);
    }
  }

  #addMessage(m, live) {
    const cid = idOf(m.conversation);
    if (!this.messages.has(cid)) this.messages.set(cid, new Map());
    const box = this.messages.get(cid);
    const fresh = !box.has(m.id);
    const msg = { ...m, conversation: cid };
    if (!msg.created && live) msg.created = new Date().toISOString();
    if (!msg.created && typeof msg.t === 'number') {
      msg.created = new Date(Date.now() - Math.max(0, this.worldNow() - msg.t)).toISOString();
    }
    box.set(m.id, msg);
    if (live && fresh) {
      const c = this.conversations.get(cid);
      if (c) c.message_count = (c.message_count ?? 0) + 1;
      if (msg.author != null) {
        this.bubbles.set(msg.author, { text: msg.text, at: performance.now() });
        this.typing.delete(msg.author);
      }
    }
    if (fresh) this.emit('message', msg);
  }

  #setMusic(url) {
    this.music = url || null;
    this.emit('music', this.music);
  }

  #isMine(p) {
    if (this.you.user == null || p.kind === 'agent') return false;
    if (p.user != null) return p.user === this.you.user;
    return this.pendingJoinName != null && p.name === this.pendingJoinName;
  }

  #claimMine() {
    for (const p of this.players.values()) {
      if (p.user != null && this.#isMine(p)) return this.#setMe(p.id);
    }
  }

  #setMe(id) {
    this.you = { ...this.you, player: id };
    if (id != null) this.pendingJoinName = null;
    this.emit('me', id);
    this.emit('roster');
  }

  // Presentation helpers used by the renderer (kept here so tests can read them).
  bubbleFor(id, perfNow) {
    const b = this.bubbles.get(id);
    if (!b) return null;
    const age = perfNow - b.at;
    if (age > BUBBLE_MS) {
      this.bubbles.delete(id);
      return null;
    }
    return { text: b.text, alpha: age > BUBBLE_MS - 900 ? (BUBBLE_MS - age) / 900 : 1 };
  }

  isTyping(id, perfNow) {
    const t = this.typing.get(id);
    if (!t) return false;
    if (perfNow - t.at > TYPING_MS) {
      this.typing.delete(id);
      return false;
    }
    return true;
  }
}

function idOf(ref) {
  return ref && typeof ref === 'object' ? ref.id : ref;
}

function cmpId(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}
