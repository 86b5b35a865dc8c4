// One refresh loop per view, shared by the views that poll: `load()` now and every `everyMs` while
// the view is shown and the client is connected. Two loads never overlap: one asked for during a
// load runs once after it. `soon()` (an event) asks for one after `delayMs`, so a burst of events
// costs a few requests a second at most.

export class Poller {
  constructor({ everyMs, load, connected, delayMs = 250 }) {
    this.everyMs = everyMs;
    this.load = load;
    this.connected = connected;
    this.delayMs = delayMs;
    this.active = false;
    this.timer = null;
    this.soonTimer = null;
    this.inFlight = false;
    this.again = false;
  }

  start() { this.active = true; this.now(); }

  stop() {
    this.active = false;
    clearTimeout(this.timer);
    clearTimeout(this.soonTimer);
    this.timer = this.soonTimer = null;
  }

  soon() {
    if (this.active && !this.soonTimer) this.soonTimer = setTimeout(() => { this.soonTimer = null; this.now(); }, this.delayMs);
  }

  async now() {
    if (this.inFlight) { this.again = true; return; }
    clearTimeout(this.timer);
    if (!this.active) return;
    this.timer = setTimeout(() => this.now(), this.everyMs);
    if (!this.connected()) return;
    this.inFlight = true;
    try {
      await this.load();
    } finally {
      this.inFlight = false;
      if (this.again) { this.again = false; this.now(); }
    }
  }
}
