/* On-device CenterFace: the frame padded to a multiple of 32, its stride-4 maps decoded into boxes and
   5 landmarks, then NMS, the score and minimum-size filters and best-first order: the same steps as
   emolens.inference.detectors.centerface and detectors.base.Detector.detect. */
"use strict";
(function () {
  const D = (window.EmolensDevice = window.EmolensDevice || {});
  const STRIDE = 4;

  /* RGBA frame -> Float32Array (1, 3, H32, W32): RGB, 0..255, zero padding right and below. */
  function centerfaceInput(img) {
    const { data, width: w, height: h, channels: C } = img;
    const H = Math.ceil(h / 32) * 32, W = Math.ceil(w / 32) * 32;
    const out = new Float32Array(3 * H * W);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * C, o = y * W + x;
        out[o] = data[p];
        out[H * W + o] = data[p + 1];
        out[2 * H * W + o] = data[p + 2];
      }
    }
    return { data: out, dims: [1, 3, H, W] };
  }

  function iou(a, b) { // boxes as [x0, y0, x1, y1]
    const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
    const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    const inter = iw * ih;
    return inter / Math.max((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter, 1e-9);
  }

  /* Greedy non-maximum suppression: indexes kept, best score first. */
  function nms(boxes, scores, threshold) {
    let order = scores.map((_, i) => i).sort((i, j) => scores[j] - scores[i]);
    const keep = [];
    while (order.length) {
      const i = order[0];
      keep.push(i);
      order = order.slice(1).filter((j) => iou(boxes[i], boxes[j]) < threshold);
    }
    return keep;
  }

  /* The four output maps (heat, scale, offset, landmarks) of one image -> detections {box, score, landmarks}. */
  function decode(maps, mh, mw, threshold, h, w) {
    const [heat, scale, offset, lms] = maps, plane = mh * mw;
    const boxes = [], scores = [], points = [];
    const cut = Math.max(threshold, 0.05);
    for (let y = 0; y < mh; y++) {
      for (let x = 0; x < mw; x++) {
        const k = y * mw + x;
        if (!(heat[k] > cut)) continue;
        const bh = Math.exp(scale[k]) * STRIDE, bw = Math.exp(scale[plane + k]) * STRIDE;
        const cy = (y + offset[k] + 0.5) * STRIDE, cx = (x + offset[plane + k] + 0.5) * STRIDE;
        const x0 = Math.min(Math.max(cx - bw / 2, 0), w), y0 = Math.min(Math.max(cy - bh / 2, 0), h);
        boxes.push([x0, y0, Math.min(x0 + bw, w), Math.min(y0 + bh, h)]);
        scores.push(heat[k]);
        const pts = [];
        for (let j = 0; j < 5; j++) pts.push([lms[(2 * j + 1) * plane + k] * bw + x0, lms[2 * j * plane + k] * bh + y0]);
        points.push(pts);
      }
    }
    return nms(boxes, scores, 0.3).map((i) => {
      const [x0, y0, x1, y1] = boxes[i];
      return { box: [x0, y0, x1 - x0, y1 - y0], score: scores[i], landmarks: points[i] };
    });
  }

  /* Faces in an RGBA frame, best first: options {threshold, min_face} as the server's detector. */
  async function detectFaces(ort, session, img, options) {
    const input = centerfaceInput(img);
    const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", input.data, input.dims) };
    const out = await session.run(feeds);
    const maps = session.outputNames.map((name) => out[name].data);
    const [, , mh, mw] = out[session.outputNames[0]].dims;
    const found = decode(maps, mh, mw, Math.min(options.threshold, 0.99), img.height, img.width);
    return found
      .filter((d) => d.score >= options.threshold && Math.min(d.box[2], d.box[3]) >= options.min_face)
      .map((d) => clip(d, img.width, img.height))
      .sort((a, b) => b.score - a.score);
  }

  function clip(d, width, height) {
    const [x, y, w, h] = d.box;
    const x0 = Math.max(0, x), y0 = Math.max(0, y), x1 = Math.min(width, x + w), y1 = Math.min(height, y + h);
    return { ...d, box: [x0, y0, Math.max(0, x1 - x0), Math.max(0, y1 - y0)] };
  }

  Object.assign(D, { centerfaceInput, decodeCenterface: decode, nms, detectFaces });
})();
