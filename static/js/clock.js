// World time and the game clock, extrapolated locally between server frames.
import { gettext, fmt } from './i18n.js';

/** Our own daylight curve (0 night … 1 day) by minute of day; the server value anchors it. */
export function daylightCurve(minuteOfDay) {
  const h = minuteOfDay / 60;
  const smooth = (a, b, x) => {
    const t = Math.min(1, Math.max(0, (x - a) / (b - a)));
    return t * t * (3 - 2 * t);
  };
  if (h < 12) return smooth(5, 7.5, h);
  return 1 - smooth(17.5, 20.5, h);
}

export class WorldClock {
  constructor() {
    this.status = 'running';
    this.base = 0; // world ms at `at`
    this.at = performance.now();
    this.clock = null; // last server clock
    this.clockWorld = 0; // world ms when that clock was true
  }

  /** World milliseconds now: advances with real time while running, stands still otherwise. */
  now(perfNow = performance.now()) {
    if (this.status !== 'running') return this.base;
    return this.base + (perfNow - this.at);
  }

  anchor(worldMs) {
    this.base = worldMs;
    this.at = performance.now();
  }

  setStatus(status, worldMs) {
    const t = worldMs ?? this.now();
    this.status = status;
    this.anchor(t);
  }

  setClock(clock, worldMs) {
    this.clock = clock || null;
    this.clockWorld = worldMs;
  }

  /** Events carry their world time; only ever nudge forward (or far back) so motion never stutters. */
  observe(worldMs) {
    if (typeof worldMs !== 'number' || this.status !== 'running') return;
    const drift = worldMs - this.now();
    if (drift > 40 || drift < -2000) this.anchor(worldMs);
  }

  /** {day, hour, minute, minuteOfDay, daylight, label, rate} extrapolated to now, or null. */
  game(perfNow) {
    const c = this.clock;
    if (!c) return null;
    const rate = c.time_rate ?? 60;
    const elapsedMin = (((this.now(perfNow) - this.clockWorld) / 1000) * rate) / 60;
    const m0 = c.minute_of_day ?? (c.hour ?? 0) * 60 + (c.minute ?? 0);
    const total = m0 + Math.max(0, elapsedMin);
    const minuteOfDay = ((total % 1440) + 1440) % 1440;
    const day = (c.day ?? 1) + Math.floor(total / 1440);
    const hour = Math.floor(minuteOfDay / 60);
    const minute = Math.floor(minuteOfDay % 60);
    // Blend from the server's daylight towards our curve over a game hour.
    const offset = (c.daylight ?? daylightCurve(m0)) - daylightCurve(m0);
    const daylight = Math.min(1, Math.max(0, daylightCurve(minuteOfDay) + offset * Math.exp(-Math.max(0, elapsedMin) / 60)));
    const hh = String(hour).padStart(2, '0');
    const mm = String(minute).padStart(2, '0');
    return { day, hour, minute, minuteOfDay, daylight, rate, label: fmt(gettext('Day %(day)s · %(time)s'), { day, time: `${hh}:${mm}` }) };
  }
}
