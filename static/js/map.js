// Tiled JSON (.tmj) loading: layers pre-rendered once into offscreen canvases,
// a collision grid for previews, and the named areas.
import { loadImage, colourFor } from './assets.js';
import { gettext, fmt } from './i18n.js';

const FLIP_MASK = 0x1fffffff; // Tiled keeps flip flags in the top 3 bits of a gid

function props(obj) {
  const out = {};
  for (const p of obj?.properties || []) out[p.name] = p.value;
  return out;
}

function flatLayers(layers, out = []) {
  for (const l of layers || []) {
    if (l.type === 'group') flatLayers(l.layers, out);
    else out.push(l);
  }
  return out;
}

async function layerData(layer) {
  if (Array.isArray(layer.data)) return layer.data;
  if (typeof layer.data === 'string' && layer.encoding === 'base64') {
    let bytes = Uint8Array.from(atob(layer.data), (c) => c.charCodeAt(0));
    if (layer.compression === 'zlib' || layer.compression === 'gzip') {
      const format = layer.compression === 'zlib' ? 'deflate' : 'gzip';
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format));
      bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    }
    const view = new DataView(bytes.buffer);
    const data = new Array(bytes.length / 4);
    for (let i = 0; i < data.length; i++) data[i] = view.getUint32(i * 4, true);
    return data;
  }
  return [];
}

/** "town_hall" → "Town hall", "home_ivo" → "Ivo's home". */
export function areaName(name) {
  const home = /^home[_ -](.+)$/i.exec(name);
  const cap = (w) => w.charAt(0).toUpperCase() + w.slice(1);
  if (home) return fmt(gettext("%(name)s's home"), { name: cap(home[1]) });
  return cap(name.replace(/[_-]+/g, ' '));
}

export class TownMap {
  constructor(json, tilesets) {
    this.json = json;
    this.width = json.width;
    this.height = json.height;
    this.tile = json.tilewidth || 32;
    this.pxWidth = this.width * this.tile;
    this.pxHeight = this.height * this.tile;
    this.tilesets = tilesets; // [{firstgid, columns, tw, th, margin, spacing, image, tileProps}]
    this.blocked = new Uint8Array(this.width * this.height);
    this.areas = [];
    this.spawns = [];
    this.below = null;
    this.above = null;
  }

  isBlocked(x, y) {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return true;
    return this.blocked[y * this.width + x] === 1;
  }

  /** The named area containing a pixel point, if any. */
  areaAt(px, py) {
    let best = null;
    for (const a of this.areas) {
      const inside = px >= a.x && py >= a.y && px < a.x + a.width && py < a.y + a.height;
      if (inside && (!best || a.width * a.height < best.width * best.height)) best = a; // the most specific
    }
    return best;
  }

  tilesetFor(gid) {
    let found = null;
    for (const ts of this.tilesets) if (gid >= ts.firstgid) found = ts;
    return found;
  }

  drawTile(ctx, gid, dx, dy) {
    const ts = this.tilesetFor(gid);
    if (!ts) return;
    const local = gid - ts.firstgid;
    if (ts.image) {
      const sx = ts.margin + (local % ts.columns) * (ts.tw + ts.spacing);
      const sy = ts.margin + Math.floor(local / ts.columns) * (ts.th + ts.spacing);
      // Tiles taller than the grid (trees…) are anchored at the bottom, as Tiled does.
      ctx.drawImage(ts.image, sx, sy, ts.tw, ts.th, dx, dy + this.tile - ts.th, ts.tw, ts.th);
    } else {
      ctx.fillStyle = colourFor(`tile${local}`);
      ctx.fillRect(dx, dy, this.tile, this.tile);
    }
  }

  async build() {
    const layers = flatLayers(this.json.layers);
    const make = () => {
      const c = document.createElement('canvas');
      c.width = this.pxWidth;
      c.height = this.pxHeight;
      const ctx = c.getContext('2d');
      ctx.imageSmoothingEnabled = false;
      return c;
    };
    this.below = make();
    this.above = make();
    let hasAbove = false;
    for (const layer of layers) {
      const p = props(layer);
      if (layer.type === 'objectgroup') {
        const objs = (layer.objects || []).map((o) => ({ ...o, props: props(o) }));
        if (layer.name === 'areas') this.areas = objs.filter((o) => o.name).map((o) => ({ ...o, label: o.props.label || areaName(o.name) }));
        if (layer.name === 'spawns') this.spawns = objs;
        continue;
      }
      if (layer.type !== 'tilelayer') continue;
      const data = await layerData(layer);
      const isCollision = p.collides === true || layer.name === 'collision';
      if (isCollision) {
        data.forEach((g, i) => {
          if ((g & FLIP_MASK) !== 0) this.blocked[i] = 1;
        });
        continue;
      }
      // Tiles that carry collides=true in the tileset also block.
      data.forEach((g, i) => {
        const gid = g & FLIP_MASK;
        const ts = gid && this.tilesetFor(gid);
        if (ts && ts.tileProps.get(gid - ts.firstgid)?.collides) this.blocked[i] = 1;
      });
      if (layer.visible === false) continue;
      const above = p.above === true || layer.name === 'overhead';
      hasAbove ||= above;
      const ctx = (above ? this.above : this.below).getContext('2d');
      ctx.globalAlpha = layer.opacity ?? 1;
      const w = layer.width || this.width;
      const ox = layer.offsetx || 0;
      const oy = layer.offsety || 0;
      for (let i = 0; i < data.length; i++) {
        const gid = data[i] & FLIP_MASK;
        if (!gid) continue;
        this.drawTile(ctx, gid, (i % w) * this.tile + ox, Math.floor(i / w) * this.tile + oy);
      }
      ctx.globalAlpha = 1;
    }
    if (!hasAbove) this.above = null;
  }
}

/** Fetch the map JSON and its tileset images; `progress(done, total, label)` is called along the way. */
export async function loadMap(url, progress = () => {}) {
  progress(0, 2, gettext('Fetching the map'));
  const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`map ${res.status}`);
  const json = await res.json();
  progress(1, 2, gettext('Unpacking tiles'));
  const tilesets = [];
  for (const ts of json.tilesets || []) {
    if (ts.source && !ts.image) {
      console.warn('[town] external tilesets are not supported:', ts.source);
      continue;
    }
    const image = await loadImage(ts.image);
    const tileProps = new Map();
    for (const t of ts.tiles || []) tileProps.set(t.id, props(t));
    tilesets.push({
      firstgid: ts.firstgid,
      columns: ts.columns || Math.max(1, Math.floor((ts.imagewidth || ts.tilewidth) / ts.tilewidth)),
      tw: ts.tilewidth,
      th: ts.tileheight,
      margin: ts.margin || 0,
      spacing: ts.spacing || 0,
      image,
      tileProps,
    });
  }
  tilesets.sort((a, b) => a.firstgid - b.firstgid);
  const map = new TownMap(json, tilesets);
  await map.build();
  progress(2, 2, gettext('Map ready'));
  return map;
}
