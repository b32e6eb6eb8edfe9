// The canvas: pre-rendered map layers, characters, name tags, bubbles, path preview and night tint.
import { positionAt } from './path.js';
import { gettext } from './i18n.js';
import {
  nameTag, tagWidth, TAG_H, bubbleLayout, speechBubble, typingBubble, TYPING_W, TYPING_H, tintFor, areaLabel,
} from './draw.js';

const T = 32; // tile size in world pixels
const WALK_FPS = 8;
const STEP_FRAMES = [0, 1, 0, 2]; // stand → A → stand → B

export class Renderer {
  constructor(canvas, { store, camera, sprites }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { alpha: false });
    this.store = store;
    this.camera = camera;
    this.sprites = sprites;
    this.map = null;
    this.dpr = 1;
    this.selected = null; // player id with a card open
    this.followId = null; // the camera follows this player instead of mine (replay)
    this.hover = null; // player id under the pointer
    this.hoverTile = null; // [x, y]
    this.preview = null; // {tiles: [[x,y]...] | null, target: [x,y], at}
    this.positions = new Map(); // id -> {x, y, facing, moving} (tiles, as drawn)
    this.fps = 0;
    this._offsets = new Map(); // id -> {dx, dy, at, key} smoothing when a new path starts elsewhere
    this._last = performance.now();
    this._running = false;
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  setMap(map) {
    this.map = map;
    this.camera.setMap(map.pxWidth, map.pxHeight);
  }

  resize() {
    const rect = this.canvas.getBoundingClientRect();
    this.dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
    const w = Math.max(1, Math.round(rect.width * this.dpr));
    const h = Math.max(1, Math.round(rect.height * this.dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.ctx.imageSmoothingEnabled = false;
    this.camera.setView(rect.width || 1, rect.height || 1);
  }

  start() {
    if (this._running) return;
    this._running = true;
    const loop = (now) => {
      this.frame(now);
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  /** The frontmost character whose sprite covers a screen point (CSS px). */
  playerAt(sx, sy) {
    const w = this.camera.screenToWorld(sx, sy);
    let best = null;
    let bestY = -Infinity;
    for (const [id, p] of this.positions) {
      const px = p.x * T;
      const py = p.y * T;
      if (w.x >= px + 4 && w.x <= px + T - 4 && w.y >= py - 2 && w.y <= py + T && p.y > bestY) {
        best = id;
        bestY = p.y;
      }
    }
    return best;
  }

  #position(p, worldT, now) {
    const pos = positionAt(p, worldT);
    const key = p.path ? `${p.t0}:${p.path.length}` : `${p.x},${p.y}`;
    let off = this._offsets.get(p.id);
    if (!off || off.key !== key) {
      const prev = this.positions.get(p.id);
      let dx = prev ? prev.x - pos.x : 0;
      let dy = prev ? prev.y - pos.y : 0;
      if (Math.hypot(dx, dy) > 3) dx = dy = 0; // teleports snap
      off = { dx, dy, at: now, key };
      this._offsets.set(p.id, off);
    }
    const k = Math.exp(-(now - off.at) / 140);
    if (k > 0.01) {
      pos.x += off.dx * k;
      pos.y += off.dy * k;
    }
    return pos;
  }

  frame(now) {
    const dt = Math.min(0.1, (now - this._last) / 1000);
    this._last = now;
    this.fps = this.fps * 0.95 + (dt > 0 ? 1 / dt : 60) * 0.05;
    const { ctx, camera, store, dpr } = this;
    const worldT = store.worldNow(now);

    // Positions first: the camera follows them and input hit-tests them.
    const seen = new Set();
    for (const p of store.players.values()) {
      this.positions.set(p.id, this.#position(p, worldT, now));
      seen.add(p.id);
    }
    for (const id of this.positions.keys()) if (!seen.has(id)) this.positions.delete(id);
    const mine = this.positions.get(this.followId ?? store.you.player);
    camera.update(dt, mine ? { x: mine.x * T + T / 2, y: mine.y * T + T / 2 } : null);

    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#1d1626';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (!this.map) return;

    const s = camera.zoom * dpr;
    const tx = Math.round(camera.viewW * dpr / 2 - camera.x * s);
    const ty = Math.round(camera.viewH * dpr / 2 - camera.y * s);
    ctx.setTransform(s, 0, 0, s, tx, ty);
    ctx.imageSmoothingEnabled = false;
    const view = {
      x0: -tx / s, y0: -ty / s,
      x1: (this.canvas.width - tx) / s, y1: (this.canvas.height - ty) / s,
    };
    this.#layer(this.map.below, view);
    this.#previewPath(now);
    const drawn = this.#characters(now, view);
    if (this.map.above) this.#layer(this.map.above, view);
    this.#tint(now, view, drawn);

    // Screen-space overlays stay crisp at any zoom.
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (camera.zoom <= 1.5) this.#areaLabels();
    this.#labels(now, drawn);
  }

  #layer(canvas, v) {
    const x0 = Math.max(0, Math.floor(v.x0));
    const y0 = Math.max(0, Math.floor(v.y0));
    const x1 = Math.min(canvas.width, Math.ceil(v.x1));
    const y1 = Math.min(canvas.height, Math.ceil(v.y1));
    if (x1 > x0 && y1 > y0) this.ctx.drawImage(canvas, x0, y0, x1 - x0, y1 - y0, x0, y0, x1 - x0, y1 - y0);
  }

  #previewPath(now) {
    const ctx = this.ctx;
    const me = this.store.me;
    let tiles = null;
    let target = null;
    if (this.preview && now - this.preview.at < 4000) {
      tiles = this.preview.tiles;
      target = this.preview.target;
    } else if (me?.path && me.path.length > 1) {
      const pos = this.positions.get(me.id);
      const end = me.path.at(-1);
      if (pos && (Math.abs(pos.x - end[0]) > 0.05 || Math.abs(pos.y - end[1]) > 0.05)) {
        const f = ((this.store.worldNow(now) - me.t0) / 1000) * (me.speed || 1);
        tiles = me.path.slice(Math.max(0, Math.ceil(f)));
        target = end;
      }
    }
    if (tiles) {
      ctx.fillStyle = 'rgba(255,248,236,0.55)';
      for (const [x, y] of tiles) ctx.fillRect(x * T + 13, y * T + 13, 6, 6);
    }
    if (target) {
      const pulse = 2 + Math.sin(now / 180) * 2;
      ctx.strokeStyle = '#f2a65a';
      ctx.lineWidth = 2;
      ctx.strokeRect(target[0] * T + 3 - pulse / 2, target[1] * T + 3 - pulse / 2, T - 6 + pulse, T - 6 + pulse);
    }
    if (this.hoverTile && this.store.me && !this.map.isBlocked(...this.hoverTile)) {
      ctx.strokeStyle = 'rgba(255,248,236,0.35)';
      ctx.lineWidth = 1;
      ctx.strokeRect(this.hoverTile[0] * T + 0.5, this.hoverTile[1] * T + 0.5, T - 1, T - 1);
    }
  }

  #characters(now, v) {
    const ctx = this.ctx;
    const list = [];
    for (const p of this.store.players.values()) {
      const pos = this.positions.get(p.id);
      if (!pos) continue;
      const px = pos.x * T;
      const py = pos.y * T;
      if (px + T < v.x0 - 40 || px > v.x1 + 40 || py + T < v.y0 - 80 || py > v.y1 + 40) continue;
      list.push({ p, pos, px, py });
    }
    list.sort((a, b) => a.py - b.py);
    const frame = Math.floor((now / 1000) * WALK_FPS) % STEP_FRAMES.length;
    for (const { p, pos, px, py } of list) {
      const ring = p.id === this.selected ? '#f4e9d8' : p.id === this.store.you.player ? '#f2a65a' : null;
      ctx.fillStyle = 'rgba(20,12,28,0.28)';
      ctx.beginPath();
      ctx.ellipse(px + 16, py + 29, 9, 3.5, 0, 0, Math.PI * 2);
      ctx.fill();
      if (ring) {
        ctx.strokeStyle = ring;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.ellipse(px + 16, py + 29, 12, 5, 0, 0, Math.PI * 2);
        ctx.stroke();
      }
      const step = pos.moving ? STEP_FRAMES[frame] : 0;
      this.sprites.draw(ctx, p.character, pos.facing, step, Math.round(px), Math.round(py));
    }
    return list;
  }

  #tint(now, v, drawn) {
    const clock = this.store.clock(now);
    const colour = clock ? tintFor(clock.daylight) : null;
    if (!colour) return;
    const ctx = this.ctx;
    ctx.save();
    ctx.globalCompositeOperation = 'multiply';
    ctx.fillStyle = colour;
    ctx.fillRect(v.x0, v.y0, v.x1 - v.x0, v.y1 - v.y0);
    // After dark everyone carries a little lantern light.
    const glow = Math.max(0, 0.55 - clock.daylight) * 0.6;
    if (glow > 0.02) {
      ctx.globalCompositeOperation = 'screen';
      for (const { px, py } of drawn) {
        const g = ctx.createRadialGradient(px + 16, py + 20, 2, px + 16, py + 20, 44);
        g.addColorStop(0, `rgba(255,196,120,${glow})`);
        g.addColorStop(1, 'rgba(255,196,120,0)');
        ctx.fillStyle = g;
        ctx.fillRect(px - 28, py - 24, 88, 88);
      }
    }
    ctx.restore();
  }

  #areaLabels() {
    for (const a of this.map.areas) {
      const c = this.camera.worldToScreen(a.x + a.width / 2, a.y + 10);
      if (c.x > -100 && c.y > -20 && c.x < this.camera.viewW + 100 && c.y < this.camera.viewH + 20) {
        areaLabel(this.ctx, Math.round(c.x), Math.round(c.y), a.label);
      }
    }
  }

  #labels(now, drawn) {
    const ctx = this.ctx;
    const store = this.store;
    const me = store.you.player;
    // Greedy layout: tags first (me and the selected one win), then bubbles, each pushed
    // upwards until it overlaps nothing already placed. Keeps crowds readable.
    const placed = [];
    const hits = (r) => placed.filter((p) => r.x1 > p.x0 && r.x0 < p.x1 && r.y1 > p.y0 && r.y0 < p.y1);
    const place = (cx, bottom, w, h) => {
      let b = bottom;
      for (let i = 0; i < 12; i++) {
        const r = { x0: cx - w / 2, x1: cx + w / 2, y0: b - h, y1: b };
        const hit = hits(r);
        if (!hit.length) break;
        b = Math.min(...hit.map((p) => p.y0)) - 2;
      }
      placed.push({ x0: cx - w / 2, x1: cx + w / 2, y0: b - h, y1: b });
      return b;
    };
    const rank = (p) => (p.id === me ? 0 : p.id === this.selected ? 1 : 2);
    const order = [...drawn].sort((a, b) => rank(a.p) - rank(b.p) || b.py - a.py);
    const heads = new Map();
    for (const d of order) {
      const top = this.camera.worldToScreen(d.px + T / 2, d.py);
      const cx = Math.round(top.x);
      const text = d.p.name || '…';
      // A resident thinking with the offline mind while the town has its model: say so,
      // quietly (when the whole town is offline a banner says it once instead).
      const note = store.mind !== 'offline' && store.thinksOffline(d.p.id) ? gettext('offline') : '';
      const bottom = place(cx, Math.round(top.y) - 1, tagWidth(ctx, text, note), TAG_H);
      heads.set(d.p.id, { cx, bottom, text, note });
    }
    for (const d of drawn) {
      const { cx, bottom, text, note } = heads.get(d.p.id);
      nameTag(ctx, cx, bottom, text, {
        human: d.p.kind === 'human',
        mine: d.p.id === me,
        selected: d.p.id === this.selected || d.p.id === this.hover,
        note,
      });
    }
    for (const d of order) {
      const head = heads.get(d.p.id);
      let y = head.bottom - TAG_H - 2;
      const b = store.bubbleFor(d.p.id, now);
      if (b) {
        const layout = bubbleLayout(ctx, b.text);
        const bottom = place(head.cx, y - 6, layout.w, layout.h + 6) ;
        speechBubble(ctx, head.cx, bottom - 6, layout, b.alpha, y);
        y = bottom - layout.h - 6;
      }
      if (store.isTyping(d.p.id, now)) {
        const bottom = place(head.cx, y - 5, TYPING_W, TYPING_H + 5);
        typingBubble(ctx, head.cx, bottom - 5, now);
      }
    }
  }
}
