// Small canvas drawing helpers: name tags, speech bubbles, the day/night tint.

const TAG_FONT = '600 11px ui-rounded, "Nunito", "Trebuchet MS", system-ui, sans-serif';
const BUBBLE_FONT = '12px ui-rounded, "Nunito", "Trebuchet MS", system-ui, sans-serif';
const widthCache = new Map();

function measure(ctx, font, text) {
  const key = `${font}|${text}`;
  let w = widthCache.get(key);
  if (w === undefined) {
    ctx.font = font;
    w = ctx.measureText(text).width;
    if (widthCache.size > 4000) widthCache.clear();
    widthCache.set(key, w);
  }
  return w;
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.roundRect(x, y, w, h, r);
}

export const TAG_H = 16;
const NOTE_FONT = 'italic 9px ui-rounded, "Nunito", "Trebuchet MS", system-ui, sans-serif';
const NOTE_GAP = 5;

/** Width of a name tag; `note` is a small muted remark after the name ("offline"). */
export function tagWidth(ctx, text, note = '') {
  const extra = note ? NOTE_GAP + measure(ctx, NOTE_FONT, note) : 0;
  return Math.ceil(measure(ctx, TAG_FONT, text) + extra) + 10;
}

/** Name tag centred at (cx, bottom) in screen space. */
export function nameTag(ctx, cx, bottom, text, { human, mine, selected, note = '' }) {
  const w = tagWidth(ctx, text, note);
  const h = TAG_H;
  const x = Math.round(cx - w / 2);
  const y = Math.round(bottom - h);
  ctx.fillStyle = mine ? 'rgba(242,166,90,0.95)' : selected ? 'rgba(244,233,216,0.95)' : 'rgba(29,22,38,0.78)';
  roundRect(ctx, x, y, w, h, 5);
  ctx.fill();
  if (human && !mine) {
    ctx.fillStyle = '#f2a65a';
    ctx.fillRect(x + 3, y + 6, 3, 3);
  }
  ctx.font = TAG_FONT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = mine || selected ? '#1d1626' : '#f4e9d8';
  if (!note) {
    ctx.fillText(text, Math.round(cx + (human && !mine ? 2 : 0)), y + h / 2 + 0.5);
    return;
  }
  // Name, then the note in small muted italics, both inside the tag.
  const nameW = measure(ctx, TAG_FONT, text);
  ctx.textAlign = 'left';
  ctx.fillText(text, x + 5, y + h / 2 + 0.5);
  ctx.font = NOTE_FONT;
  ctx.fillStyle = mine || selected ? 'rgba(29,22,38,0.7)' : 'rgba(244,233,216,0.72)';
  ctx.fillText(note, x + 5 + nameW + NOTE_GAP, y + h / 2 + 1);
}

function wrap(ctx, text, maxWidth, maxLines) {
  const words = String(text).replace(/\s+/g, ' ').trim().split(' ');
  const lines = [];
  let line = '';
  for (const word of words) {
    const test = line ? `${line} ${word}` : word;
    if (measure(ctx, BUBBLE_FONT, test) <= maxWidth || !line) {
      line = test;
    } else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  if (lines.length > maxLines) {
    lines.length = maxLines;
    lines[maxLines - 1] = `${lines[maxLines - 1].replace(/\s+\S*$/, '')}…`;
  }
  // Hard-cut words that are still too long (URLs, long names).
  return lines.map((l) => {
    let s = l;
    while (s.length > 1 && measure(ctx, BUBBLE_FONT, s) > maxWidth) s = `${s.slice(0, -2)}…`;
    return s;
  });
}

/** Lines and size of a speech bubble for `text` (screen px). */
export function bubbleLayout(ctx, text) {
  ctx.font = BUBBLE_FONT;
  const lines = wrap(ctx, text, 168, 4);
  const w = Math.ceil(Math.max(...lines.map((l) => measure(ctx, BUBBLE_FONT, l)))) + 16;
  return { lines, w, h: lines.length * 15 + 10 };
}

/** Draw a laid-out bubble with its box bottom at `bottom`; the tail points down to tailY. */
export function speechBubble(ctx, cx, bottom, layout, alpha = 1, tailY = bottom + 6) {
  const { lines, w, h } = layout;
  ctx.save();
  ctx.globalAlpha = alpha;
  const x = Math.round(cx - w / 2);
  const y = Math.round(bottom - h);
  ctx.shadowColor = 'rgba(0,0,0,0.25)';
  ctx.shadowOffsetY = 2;
  ctx.shadowBlur = 0;
  ctx.fillStyle = '#fff8ec';
  roundRect(ctx, x, y, w, h, 7);
  ctx.fill();
  ctx.beginPath();
  ctx.moveTo(cx - 5, y + h - 1);
  ctx.lineTo(cx, Math.max(y + h + 6, tailY));
  ctx.lineTo(cx + 5, y + h - 1);
  ctx.fill();
  ctx.shadowColor = 'transparent';
  ctx.fillStyle = '#2a2035';
  ctx.font = BUBBLE_FONT;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  lines.forEach((l, i) => ctx.fillText(l, x + 8, y + 6 + i * 15));
  ctx.restore();
}

export const TYPING_W = 34;
export const TYPING_H = 18;

/** The animated "…" bubble for someone typing (box bottom at `bottom`). */
export function typingBubble(ctx, cx, bottom, now) {
  const w = TYPING_W;
  const h = TYPING_H;
  const x = Math.round(cx - w / 2);
  const y = Math.round(bottom - h);
  ctx.fillStyle = 'rgba(255,248,236,0.95)';
  roundRect(ctx, x, y, w, h, 8);
  ctx.fill();
  ctx.beginPath();
  ctx.moveTo(cx - 4, y + h - 1);
  ctx.lineTo(cx, y + h + 5);
  ctx.lineTo(cx + 4, y + h - 1);
  ctx.fill();
  for (let i = 0; i < 3; i++) {
    const phase = (now / 300 + i * 0.6) % 3;
    ctx.fillStyle = phase < 1 ? '#e8735a' : '#8a7a8f';
    ctx.fillRect(x + 8 + i * 7, y + 8 - (phase < 1 ? 1 : 0), 4, 4);
  }
}

/** Multiply colour for the time of day, or null in full daylight. */
export function tintFor(daylight) {
  if (daylight >= 0.985) return null;
  const night = [92, 104, 178];
  const dusk = [255, 190, 146];
  const day = [255, 255, 255];
  const mix = (a, b, t) => a.map((v, i) => Math.round(v + (b[i] - v) * t));
  const c = daylight < 0.5 ? mix(night, dusk, daylight / 0.5) : mix(dusk, day, (daylight - 0.5) / 0.5);
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Subtle area name drawn on the map (screen space). */
export function areaLabel(ctx, cx, cy, text) {
  ctx.save();
  ctx.font = '700 12px ui-monospace, "DejaVu Sans Mono", monospace';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.lineWidth = 3;
  ctx.strokeStyle = 'rgba(29,22,38,0.55)';
  ctx.strokeText(text.toUpperCase(), cx, cy);
  ctx.fillStyle = 'rgba(255,248,236,0.8)';
  ctx.fillText(text.toUpperCase(), cx, cy);
  ctx.restore();
}
