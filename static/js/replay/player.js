// Replay playback: fetch the state at a moment, then feed the recorded events into a Store
// as the playhead passes them, at 1×–32×. No DOM here.
//
// Emits: 'seeked' ({at}), 'state' (playing/paused/speed/ended changed), 'range' ({first, last}),
// 'message' (message event, as played), 'error' (Error).
import { Emitter } from '../emitter.js';
import { WorldClock } from '../clock.js';
import { gettext, fmt } from '../i18n.js';

export const SPEEDS = [1, 2, 4, 8, 16, 32];
const CHUNK_MS = 5 * 60_000; // world time fetched per page ahead of the playhead
const AHEAD_REAL_MS = 20_000; // keep at least this much real playing time buffered

/** A world clock that the replay drives: it runs at `speed` while playing and stands still otherwise. */
export class ReplayClock extends WorldClock {
  constructor() {
    super();
    this.playing = false;
    this.speed = 1;
  }

  now(perfNow = performance.now()) {
    return this.playing ? this.base + (perfNow - this.at) * this.speed : this.base;
  }

  /** Re-anchor at the current playhead (before changing speed or pausing). */
  hold() {
    this.anchor(this.now());
  }

  setStatus(status) {
    this.status = status; // a frozen world's clock did not run, so nothing to do
  }

  observe() {} // the playhead, not the events, sets the time
}

/** The game clock at world time 0, from the world's time rate and start minute. */
export function baseClock(clock = {}) {
  return {
    day: 1,
    minute_of_day: clock.start_minute_of_day ?? 420,
    time_rate: clock.time_rate ?? 60,
  };
}

export class ReplayPlayer extends Emitter {
  constructor({ store, historyUrl, world, clock }) {
    super();
    this.store = store;
    this.historyUrl = historyUrl;
    this.world = world || {};
    this.clockInfo = clock || {};
    this.clock = new ReplayClock();
    store.time = this.clock;
    this.first = 0;
    this.last = 0;
    this.events = []; // buffered events after the playhead, in order
    this.index = 0; // next event to apply
    this.cursor = 0; // world ms: everything up to here is buffered
    this.more = true; // the server may have events after `cursor`
    this.generation = 0; // bumps on every seek so stale fetches are dropped
    this.fetching = null;
    this.retryAt = 0; // after a failed page, wait a little before asking again
    this.ended = false;
    this.loaded = false;
    this.names = new Map(); // player id -> name, kept after they leave (for the transcript)
  }

  get playing() {
    return this.clock.playing;
  }

  get speed() {
    return this.clock.speed;
  }

  now() {
    return this.clock.now();
  }

  nameOf(id) {
    return this.store.players.get(id)?.name ?? this.names.get(id) ?? 'someone';
  }

  #url(from, to, eventsOnly) {
    const url = new URL(this.historyUrl, location.href);
    url.searchParams.set('from', String(Math.max(0, Math.round(from))));
    if (to != null) url.searchParams.set('to', String(Math.round(to)));
    if (eventsOnly) url.searchParams.set('events_only', '1'); // look-ahead pages need no state
    return url;
  }

  async #get(from, to, eventsOnly = false) {
    const res = await fetch(this.#url(from, to, eventsOnly), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`history ${res.status}`);
    return res.json();
  }

  #range(data) {
    const first = data.first ?? this.first;
    const last = Math.max(data.last ?? 0, first);
    if (first !== this.first || last !== this.last) {
      this.first = first;
      this.last = last;
      this.emit('range', { first, last });
    }
    if (data.clock) this.clockInfo = { ...this.clockInfo, ...data.clock };
  }

  /** A page's events and where the next page starts (pages end on a whole world ms). */
  #take(data) {
    const events = data.events || [];
    if (data.more && data.next != null) return { events, cursor: data.next, more: true };
    return { events, cursor: null, more: false };
  }

  /** Jump to world time `t`: fetch the state there and the first page of events after it. */
  async seek(t) {
    const gen = ++this.generation;
    const wasPlaying = this.clock.playing;
    this.clock.playing = false;
    const at = Math.max(0, Math.round(t));
    this.clock.anchor(at);
    this.fetching = null;
    let data;
    try {
      data = await this.#get(at, at + CHUNK_MS);
    } catch (err) {
      if (gen === this.generation) this.emit('error', err);
      return;
    }
    if (gen !== this.generation) return;
    this.#range(data);
    const state = data.state || {};
    for (const p of state.players || []) this.names.set(p.id, p.name);
    this.store.applySnapshot({
      world: { id: this.world.id, name: this.world.name, status: 'running', time: data.at ?? at },
      players: state.players || [],
      conversations: (state.conversations || []).filter((c) => c.status !== 'ended'),
      messages: (state.messages || []).map((m) => ({ ...m, conversation: m.conversation })),
    });
    this.store.time = this.clock;
    this.clock.anchor(data.at ?? at);
    this.clock.setClock(baseClock(this.clockInfo), 0);
    const page = this.#take(data);
    this.events = page.events;
    this.index = 0;
    this.cursor = page.cursor ?? at + CHUNK_MS;
    this.more = page.more || this.cursor < this.last;
    this.ended = false;
    this.loaded = true;
    this.emit('seeked', { at: data.at ?? at, messages: state.messages || [] });
    if (wasPlaying) this.play();
    else this.emit('state');
  }

  play() {
    if (this.now() >= this.last && !this.more) {
      // At the end: start again from the beginning.
      this.seek(this.first).then(() => this.play());
      return;
    }
    this.clock.anchor(this.now());
    this.clock.playing = true;
    this.ended = false;
    this.emit('state');
  }

  pause() {
    this.clock.hold();
    this.clock.playing = false;
    this.emit('state');
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  setSpeed(speed) {
    if (!SPEEDS.includes(speed)) return;
    this.clock.hold();
    this.clock.speed = speed;
    this.emit('state');
  }

  /** Called every animation frame: apply due events, fetch ahead, stop at the end. */
  update() {
    if (!this.loaded) return;
    let now = this.now();
    // Never run past what is buffered: wait for the next page instead.
    if (this.playing && this.more && now > this.cursor) {
      this.clock.anchor(this.cursor);
      now = this.cursor;
    }
    const due = [];
    while (this.index < this.events.length && this.events[this.index].t <= now) {
      due.push(this.events[this.index]);
      this.index += 1;
    }
    if (due.length) {
      for (const ev of due) {
        if ((ev.kind === 'player_joined' || ev.kind === 'player_updated') && ev.player) {
          this.names.set(ev.player.id, ev.player.name);
        }
      }
      this.store.applyEvents(due);
      for (const ev of due) if (ev.kind === 'message') this.emit('message', ev);
    }
    if (this.index > 2000) {
      this.events = this.events.slice(this.index);
      this.index = 0;
    }
    if (this.more && !this.fetching && performance.now() > this.retryAt && this.cursor - now < AHEAD_REAL_MS * this.speed) {
      this.#fetchAhead();
    }
    if (this.playing && !this.more && now >= Math.max(this.last, this.cursor)) {
      this.clock.anchor(Math.max(this.last, this.first));
      this.clock.playing = false;
      this.ended = true;
      this.emit('state');
    }
  }

  #fetchAhead() {
    const gen = this.generation;
    const from = this.cursor;
    this.fetching = this.#get(from, from + CHUNK_MS, true)
      .then((data) => {
        if (gen !== this.generation) return;
        this.#range(data);
        const page = this.#take(data);
        this.events.push(...page.events);
        this.cursor = page.cursor ?? from + CHUNK_MS;
        this.more = page.more || this.cursor < this.last;
      })
      .catch((err) => {
        this.retryAt = performance.now() + 3000;
        if (gen === this.generation) this.emit('error', err);
      })
      .finally(() => {
        if (gen === this.generation) this.fetching = null;
      });
  }
}

/** "Day 2 · 07:15" for world time `t` (ms). */
export function gameLabel(t, clock = {}) {
  const c = baseClock(clock);
  const total = c.minute_of_day + ((Math.max(0, t) / 60000) * c.time_rate);
  const day = 1 + Math.floor(total / 1440);
  const m = Math.floor(total % 1440);
  const time = `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return fmt(gettext('Day %(day)s · %(time)s'), { day, time });
}

/** World time as h:mm:ss. */
export function span(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}`;
}
