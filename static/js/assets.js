// Image loading with progress, and the character sprite sheets (with a fallback look).

export const FRAME = 32;
const ROWS = { down: 0, left: 1, right: 2, up: 3 };

/** Load an image; resolves to the image or null when it fails (callers draw a fallback). */
export function loadImage(url) {
  return new Promise((resolve) => {
    if (!url) return resolve(null);
    const img = new Image();
    img.decoding = 'async';
    img.addEventListener('load', () => resolve(img), { once: true });
    img.addEventListener('error', () => {
      console.warn('[town] image failed to load:', url);
      resolve(null);
    }, { once: true });
    img.src = url;
  });
}

/** A stable, pleasant colour for a name (used when a sprite is missing). */
export function colourFor(name) {
  let h = 0;
  for (const ch of String(name)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return `hsl(${h % 360} 55% 58%)`;
}

export class Sprites {
  constructor(urlTemplate) {
    this.urlTemplate = urlTemplate || '/static/sprites/{name}.png';
    this.sheets = new Map(); // name -> HTMLImageElement | null (failed) | Promise
  }

  url(name) {
    return this.urlTemplate.replace('{name}', encodeURIComponent(name));
  }

  load(name) {
    if (this.sheets.has(name)) return Promise.resolve(this.sheets.get(name));
    const p = loadImage(this.url(name)).then((img) => {
      this.sheets.set(name, img);
      return img;
    });
    this.sheets.set(name, p);
    return p;
  }

  /** The loaded sheet, or undefined while loading, or null if it failed. */
  get(name) {
    const s = this.sheets.get(name);
    if (s === undefined) {
      this.load(name);
      return undefined;
    }
    return s instanceof Promise ? undefined : s;
  }

  /**
   * Draw one 32×32 frame with its top-left at (dx, dy) in the current transform.
   * step: 0 stand, 1 step A, 2 step B.
   */
  draw(ctx, name, facing, step, dx, dy, size = FRAME) {
    const sheet = this.get(name);
    if (sheet) {
      const row = ROWS[facing] ?? 0;
      ctx.drawImage(sheet, step * FRAME, row * FRAME, FRAME, FRAME, dx, dy, size, size);
      return;
    }
    drawFallback(ctx, name, facing, dx, dy, size);
  }
}

/** A round little person in the name's colour, facing the right way. */
export function drawFallback(ctx, name, facing, dx, dy, size = FRAME) {
  const s = size / FRAME;
  ctx.fillStyle = colourFor(name);
  ctx.beginPath();
  ctx.arc(dx + 16 * s, dy + 19 * s, 9 * s, 0, Math.PI * 2);
  ctx.fill();
  ctx.fillStyle = '#f6dcc0';
  ctx.beginPath();
  ctx.arc(dx + 16 * s, dy + 10 * s, 6 * s, 0, Math.PI * 2);
  ctx.fill();
  if (facing !== 'up') {
    ctx.fillStyle = '#2a2035';
    const off = facing === 'left' ? -2 : facing === 'right' ? 2 : 0;
    ctx.fillRect(dx + (13 + off) * s, dy + 9 * s, 2 * s, 2 * s);
    ctx.fillRect(dx + (17 + off) * s, dy + 9 * s, 2 * s, 2 * s);
  }
}
