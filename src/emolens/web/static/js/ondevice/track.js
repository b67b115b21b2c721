/* On-device face tracks: stable ids across frames and EMA-smoothed probabilities, as
   emolens.inference.tracking.Tracker (greedy IoU matching, then centre distance; constant velocity). */
"use strict";
(function () {
  const D = (window.EmolensDevice = window.EmolensDevice || {});

  const centre = (d) => [d.box[0] + d.box[2] / 2, d.box[1] + d.box[3] / 2];

  function boxIou(a, b) {
    const iw = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
    const ih = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
    const inter = iw * ih, union = a[2] * a[3] + b[2] * b[3] - inter;
    return union > 0 ? inter / union : 0;
  }

  /* A track's detection predicted at a frame: its last one moved by its velocity. */
  function at(track, frame) {
    const dt = frame - track.anchorFrame;
    if (!dt) return track.anchor;
    const [dx, dy] = [track.velocity[0] * dt, track.velocity[1] * dt];
    const [x, y, w, h] = track.anchor.box;
    return { ...track.anchor, box: [x + dx, y + dy, w, h] };
  }

  class Tracker {
    constructor({ iou_threshold = 0.3, max_missed = 2, alpha = 0.4 } = {}) {
      Object.assign(this, { iouThreshold: iou_threshold, maxMissed: max_missed, alpha });
      this.tracks = [];
      this.nextId = 1;
    }

    /* One detection round -> the track of each detection, in order. */
    update(detections, frame) {
      const pairs = this.match(detections, frame);
      const assigned = new Array(detections.length).fill(null);
      for (const [ti, di] of pairs) {
        const track = this.tracks[ti], det = detections[di];
        const dt = Math.max(1, frame - track.anchorFrame);
        const [ox, oy] = centre(track.anchor), [nx, ny] = centre(det);
        let v = [(nx - ox) / dt, (ny - oy) / dt];
        if (track.hits > 1) v = [0.5 * (track.velocity[0] + v[0]), 0.5 * (track.velocity[1] + v[1])];
        Object.assign(track, { velocity: v, anchor: det, anchorFrame: frame, missed: 0, hits: track.hits + 1 });
        assigned[di] = track;
      }
      const matched = new Set(pairs.map(([ti]) => ti));
      this.tracks.forEach((t, ti) => { if (!matched.has(ti)) t.missed += 1; });
      this.tracks = this.tracks.filter((t) => t.missed <= this.maxMissed);
      detections.forEach((det, di) => {
        if (assigned[di]) return;
        const track = { id: this.nextId++, anchor: det, anchorFrame: frame, velocity: [0, 0], probs: null, missed: 0, hits: 1 };
        this.tracks.push(track);
        assigned[di] = track;
      });
      return assigned;
    }

    /* The track's smoothed probabilities after adding these. */
    smooth(track, probs) {
      track.probs = track.probs === null ? probs.slice() : probs.map((p, i) => this.alpha * p + (1 - this.alpha) * track.probs[i]);
      return track.probs;
    }

    match(detections, frame) {
      if (!this.tracks.length || !detections.length) return [];
      const cand = [];
      this.tracks.forEach((t, ti) => {
        const p = at(t, frame), [pcx, pcy] = centre(p), side = Math.max(p.box[2], p.box[3]);
        detections.forEach((d, di) => {
          const iou = boxIou(p.box, d.box), [dcx, dcy] = centre(d);
          const dist = Math.hypot(pcx - dcx, pcy - dcy) / Math.max(side, 1);
          if (iou >= this.iouThreshold || dist < 1) cand.push([-iou, dist, ti, di]);
        });
      });
      cand.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3]);
      const pairs = [], usedT = new Set(), usedD = new Set();
      for (const [, , ti, di] of cand) {
        if (usedT.has(ti) || usedD.has(di)) continue;
        pairs.push([ti, di]);
        usedT.add(ti);
        usedD.add(di);
      }
      return pairs;
    }
  }

  Object.assign(D, { Tracker, boxIou });
})();
