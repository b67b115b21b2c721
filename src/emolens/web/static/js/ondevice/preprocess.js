/* On-device preprocessing: a face in a camera frame -> the classifier's input, as the model card says.
   The same steps, in the same order and rounding, as the server (emolens.inference.align.crop_face, then
   emolens.core.preprocess.preprocess and emolens.core.tta.tta_views), so both see the same pixels:
   tests/web/test_ondevice_parity.py holds them within 1/255 of each other.
   Images are {data, width, height, channels}: data a Uint8Array/Uint8ClampedArray, row-major, channels
   interleaved (camera frames are RGBA from a canvas). */
"use strict";
(function () {
  const D = (window.EmolensDevice = window.EmolensDevice || {});

  /* Python's round(): halves go to the even neighbour. */
  function roundHalfEven(v) {
    const r = Math.round(v);
    return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }

  /* Degrees that level the eyes (OpenCV's counter-clockwise convention), as align.eye_angle. */
  function eyeAngle(lms) {
    let [ax, ay] = lms[0], [bx, by] = lms[1];
    if (bx < ax) [ax, ay, bx, by] = [bx, by, ax, ay];
    return (Math.atan2(by - ay, bx - ax) * 180) / Math.PI;
  }

  /* Square RGB crop of side max(w, h) * (1 + 2 margin) around det.box, rotated about its centre so the
     eyes are level: OpenCV's getRotationMatrix2D + warpAffine (bilinear, replicated borders). */
  function cropFace(img, det, margin, align) {
    const [x, y, w, h] = det.box;
    const side = Math.max(w, h) * (1 + 2 * margin);
    const out = Math.max(1, roundHalfEven(side));
    const cx = x + w / 2, cy = y + h / 2;
    const angle = align && det.landmarks && det.landmarks.length >= 2 ? eyeAngle(det.landmarks) : 0;
    const rad = (angle * Math.PI) / 180, s = out / side;
    const a = Math.cos(rad) * s, b = Math.sin(rad) * s;
    const m = [a, b, (1 - a) * cx - b * cy + out / 2 - cx, -b, a, b * cx + (1 - a) * cy + out / 2 - cy];
    const det2 = m[0] * m[4] - m[1] * m[3]; // invert the forward map, as warpAffine does
    const i0 = m[4] / det2, i1 = -m[1] / det2, i3 = -m[3] / det2, i4 = m[0] / det2;
    const i2 = -i0 * m[2] - i1 * m[5], i5 = -i3 * m[2] - i4 * m[5];
    const { data, width: W, height: H, channels: C } = img;
    const dst = new Uint8Array(out * out * 3);
    const clampX = (v) => (v < 0 ? 0 : v >= W ? W - 1 : v), clampY = (v) => (v < 0 ? 0 : v >= H ? H - 1 : v);
    for (let oy = 0; oy < out; oy++) {
      for (let ox = 0; ox < out; ox++) {
        const sx = i0 * ox + i1 * oy + i2, sy = i3 * ox + i4 * oy + i5;
        const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
        const xa = clampX(x0), xb = clampX(x0 + 1), ya = clampY(y0), yb = clampY(y0 + 1);
        const p00 = (ya * W + xa) * C, p01 = (ya * W + xb) * C, p10 = (yb * W + xa) * C, p11 = (yb * W + xb) * C;
        const o = (oy * out + ox) * 3;
        for (let c = 0; c < 3; c++) {
          const top = data[p00 + c] + (data[p01 + c] - data[p00 + c]) * fx;
          const bottom = data[p10 + c] + (data[p11 + c] - data[p10 + c]) * fx;
          dst[o + c] = Math.round(top + (bottom - top) * fy);
        }
      }
    }
    return { data: dst, width: out, height: out, channels: 3 };
  }

  /* RGB(A) -> gray with OpenCV's 15-bit fixed-point weights (cvtColor BGR2GRAY on 8-bit images). */
  function toGray(img) {
    const { data, width, height, channels: C } = img;
    const out = new Uint8Array(width * height);
    for (let i = 0, p = 0; i < out.length; i++, p += C) {
      out[i] = (data[p] * 9798 + data[p + 1] * 19235 + data[p + 2] * 3735 + 16384) >> 15;
    }
    return { data: out, width, height, channels: 1 };
  }

  /* Source spans of each output pixel for a shrink (OpenCV INTER_AREA): [[index, weight], ...]. */
  function areaTaps(src, dst) {
    const scale = src / dst, taps = [];
    for (let d = 0; d < dst; d++) {
      const lo = d * scale, hi = Math.min(src, (d + 1) * scale), row = [];
      for (let s = Math.floor(lo); s < hi; s++) {
        const w = Math.min(hi, s + 1) - Math.max(lo, s);
        if (w > 1e-9) row.push([s, w / scale]);
      }
      taps.push(row);
    }
    return taps;
  }

  /* Two-tap bilinear spans with half-pixel centres and clamped edges (OpenCV INTER_LINEAR resize). */
  function linearTaps(src, dst) {
    const scale = src / dst, taps = [];
    for (let d = 0; d < dst; d++) {
      let s = (d + 0.5) * scale - 0.5, s0 = Math.floor(s), f = s - s0;
      if (s0 < 0) { s0 = 0; f = 0; }
      if (s0 >= src - 1) { s0 = src - 1; f = 0; }
      taps.push(f ? [[s0, 1 - f], [s0 + 1, f]] : [[s0, 1]]);
    }
    return taps;
  }

  /* OpenCV's INTER_AREA when enlarging: two taps, the second weighted by how far the next source pixel
     reaches into this output pixel (not half-pixel centres as linear). */
  function areaUpTaps(src, dst) {
    const scale = src / dst, taps = [];
    for (let d = 0; d < dst; d++) {
      let s0 = Math.floor(d * scale), f = d + 1 - (s0 + 1) / scale;
      f = f <= 0 ? 0 : f - Math.floor(f);
      if (s0 >= src - 1) { s0 = src - 1; f = 0; }
      taps.push(f ? [[s0, 1 - f], [s0 + 1, f]] : [[s0, 1]]);
    }
    return taps;
  }

  /* Separable resize with per-axis taps; `round` for 8-bit output. Data is planar-free: one channel. */
  function resample(data, sw, sh, dw, dh, taps, round) {
    const tx = taps(sw, dw), ty = taps(sh, dh);
    const out = round ? new Uint8Array(dw * dh) : new Float32Array(dw * dh);
    for (let y = 0; y < dh; y++) {
      for (let x = 0; x < dw; x++) {
        let acc = 0;
        for (const [sy, wy] of ty[y]) {
          let rowAcc = 0;
          for (const [sx, wx] of tx[x]) rowAcc += data[sy * sw + sx] * wx;
          acc += rowAcc * wy;
        }
        out[y * dw + x] = round ? Math.round(acc) : acc;
      }
    }
    return out;
  }

  /* OpenCV's 8-bit INTER_LINEAR resize in its own fixed point (11-bit weights, its vector rounding). */
  function resizeLinear8u(data, sw, sh, dw, dh) {
    const fixed = (taps) => taps.map((t) => (t.length === 1 ? [t[0][0], t[0][0], 2048, 0] : [t[0][0], t[1][0], 2048 - Math.round(t[1][1] * 2048), Math.round(t[1][1] * 2048)]));
    const tx = fixed(linearTaps(sw, dw)), ty = fixed(linearTaps(sh, dh));
    const rows = [];
    for (let y = 0; y < sh; y++) rows.push(tx.map(([a, b, wa, wb]) => data[y * sw + a] * wa + data[y * sw + b] * wb));
    const out = new Uint8Array(dw * dh);
    ty.forEach(([a, b, wa, wb], y) => {
      for (let x = 0; x < dw; x++) {
        const v = (Math.floor((wa * (rows[a][x] >> 4)) / 65536) + Math.floor((wb * (rows[b][x] >> 4)) / 65536) + 2) >> 2;
        out[y * dw + x] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    });
    return out;
  }

  /* One 8-bit channel to size x size with the card's interpolation ("area" or "linear"). */
  function resizeChannel(data, w, h, size, interpolation) {
    if (w === size && h === size) return data;
    if (interpolation !== "area" && interpolation !== "linear") throw new Error(`interpolation ${interpolation} is not supported on this device`);
    if (interpolation === "linear") return resizeLinear8u(data, w, h, size, size);
    return resample(data, w, h, size, size, w >= size && h >= size ? areaTaps : areaUpTaps, true);
  }

  /* A gray crop to size x size the way quality.assess does: area when shrinking, else linear. */
  function resizeGray(data, w, h, size) {
    return resizeChannel(data, w, h, size, w > size ? "area" : "linear");
  }

  /* A crop (RGB, any size) -> Float32Array C x S x S, normalised with the card's mean and std. */
  function toInput(crop, card) {
    const S = card.input_size, C = card.channels;
    const planes = [];
    if (C === 1) planes.push(toGray(crop).data);
    else for (let c = 0; c < 3; c++) planes.push(crop.data.filter((_, i) => i % crop.channels === c));
    const out = new Float32Array(C * S * S);
    planes.forEach((plane, c) => {
      const sized = resizeChannel(plane, crop.width, crop.height, S, card.interpolation);
      const mean = Math.fround(card.mean[c]), std = Math.fround(card.std[c]);
      for (let i = 0; i < S * S; i++) out[c * S * S + i] = (Math.fround(sized[i] * Math.fround(1 / 255)) - mean) / std;
    });
    return out;
  }

  /* Test-time views of one preprocessed input (C x S x S), in core/tta.py's order. */
  function ttaViews(input, C, S, tta) {
    const views = [input];
    const plane = (v, c) => v.subarray(c * S * S, (c + 1) * S * S);
    if (tta.includes("zoom")) {
      const side = roundHalfEven(S / 1.1), o = Math.floor((S - side) / 2);
      const z = new Float32Array(C * S * S);
      for (let c = 0; c < C; c++) {
        const crop = new Float32Array(side * side);
        for (let y = 0; y < side; y++) crop.set(plane(input, c).subarray((o + y) * S + o, (o + y) * S + o + side), y * side);
        z.set(resample(crop, side, side, S, S, linearTaps, false), c * S * S);
      }
      views.push(z);
    }
    if (tta.includes("shift")) {
      const d = Math.max(1, roundHalfEven(S / 16));
      const reflect = (i) => (i < 0 ? -i : i >= S ? 2 * (S - 1) - i : i);
      for (const [dx, dy] of [[-d, 0], [d, 0], [0, -d], [0, d]]) {
        const v = new Float32Array(C * S * S);
        for (let c = 0; c < C; c++)
          for (let y = 0; y < S; y++)
            for (let x = 0; x < S; x++) v[c * S * S + y * S + x] = input[c * S * S + reflect(y - dy) * S + reflect(x - dx)];
        views.push(v);
      }
    }
    if (tta.includes("flip")) {
      for (const src of views.slice()) {
        const v = new Float32Array(C * S * S);
        for (let c = 0; c < C; c++)
          for (let y = 0; y < S; y++)
            for (let x = 0; x < S; x++) v[c * S * S + y * S + x] = src[c * S * S + y * S + (S - 1 - x)];
        views.push(v);
      }
    }
    return views;
  }

  Object.assign(D, { roundHalfEven, cropFace, toGray, resizeGray, toInput, ttaViews });
})();
