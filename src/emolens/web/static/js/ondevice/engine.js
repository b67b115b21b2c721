/* The on-device engine: ONNX Runtime Web (WASM, served by this server) runs CenterFace and the served
   emotion model in the browser; frames never leave it. GET /api/v1/ondevice says what to download.
     const engine = await EmolensDevice.load((text) => status(text));
     const msg = await engine.process(imageData);  // {faces, width, height, ms}: the server's result shape
   Needs ort.wasm.min.js (global `ort`) and preprocess.js, detect.js, track.js loaded first. */
"use strict";
(function () {
  const D = (window.EmolensDevice = window.EmolensDevice || {});
  const RUNTIME = "/static/vendor/onnxruntime-web/";
  const TINY_SIDE = 40, BLURRY_BELOW = 40, DARK_BELOW = 50; // as emolens.inference.quality

  const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;

  async function fetchBytes(url) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  function softmax(logits, temperature) {
    const z = logits.map((v) => v / temperature), top = Math.max(...z);
    const e = z.map((v) => Math.exp(v - top)), sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  }

  /* Brightness and sharpness (variance of the Laplacian) of a crop at 96 px, as quality.assess. */
  function quality(crop, boxSide) {
    const gray = D.toGray(crop);
    const norm = D.resizeGray(gray.data, gray.width, gray.height, 96);
    const at = (x, y) => norm[Math.abs(y >= 96 ? 190 - y : y) * 96 + Math.abs(x >= 96 ? 190 - x : x)];
    let sum = 0, lap = [];
    for (let y = 0; y < 96; y++) for (let x = 0; x < 96; x++) {
      sum += norm[y * 96 + x];
      lap.push(at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4 * at(x, y));
    }
    const mean = lap.reduce((a, b) => a + b, 0) / lap.length;
    const sharpness = lap.reduce((a, b) => a + (b - mean) ** 2, 0) / lap.length, brightness = sum / norm.length;
    return { tiny: boxSide < TINY_SIDE, blurry: sharpness < BLURRY_BELOW, dark: brightness < DARK_BELOW, sharpness, brightness };
  }

  class Engine {
    constructor(config, detector, classifier) {
      Object.assign(this, { config, detector, classifier, card: config.card });
      this.reset();
    }

    reset() { this.tracker = new D.Tracker(this.config.stream); this.index = 0; }

    /* Calibrated probabilities (card label order) of each crop: all TTA views in one run, as Classifier.logits. */
    async classify(crops) {
      const { channels: C, input_size: S, tta, labels, temperature } = this.card;
      const views = crops.map((crop) => D.ttaViews(D.toInput(crop, this.card), C, S, tta));
      const V = views[0].length, N = crops.length, batch = new Float32Array(V * N * C * S * S);
      for (let v = 0; v < V; v++) for (let n = 0; n < N; n++) batch.set(views[n][v], (v * N + n) * C * S * S);
      const s = this.classifier;
      const out = await s.run({ [s.inputNames[0]]: new ort.Tensor("float32", batch, [V * N, C, S, S]) });
      const logits = out[s.outputNames[0]].data, K = labels.length;
      return crops.map((_, n) => {
        const mean = new Array(K).fill(0);
        for (let v = 0; v < V; v++) for (let k = 0; k < K; k++) mean[k] += logits[(v * N + n) * K + k] / V;
        return softmax(mean, temperature);
      });
    }

    /* Faces, crops and calibrated probabilities of one RGBA frame (ImageData or {data, width, height}). */
    async read(frame) {
      const img = { data: frame.data, width: frame.width, height: frame.height, channels: 4 };
      const dets = await D.detectFaces(ort, this.detector, img, this.config.detector);
      const crops = dets.map((d) => D.cropFace(img, d, this.card.crop_margin, this.card.align));
      return { img, dets, crops, probs: crops.length ? await this.classify(crops) : [] };
    }

    /* One frame of a stream -> tracked, smoothed faces in the API's JSON shape (the live camera, the counter). */
    async process(frame) {
      const started = performance.now();
      const { img, dets, crops, probs } = await this.read(frame);
      const tracks = this.tracker.update(dets, this.index++);
      const faces = dets.map((d, i) => this.face(d, this.tracker.smooth(tracks[i], probs[i]), crops[i], tracks[i].id));
      return { faces, width: img.width, height: img.height, ms: performance.now() - started };
    }

    /* One picture on its own (no tracking, no smoothing), as Analyzer.analyze: a journal check-in's frames. */
    async analyze(frame) {
      const { dets, crops, probs } = await this.read(frame);
      return dets.map((d, i) => this.face(d, probs[i], crops[i], null));
    }

    face(det, probs, crop, trackId) {
      const { labels, uncertain_below } = this.card;
      const top = probs.indexOf(Math.max(...probs));
      const [x, y, w, h] = det.box.map(D.roundHalfEven);
      return {
        box: { x, y, w, h }, score: det.score, landmarks: det.landmarks,
        emotion: labels[top], confidence: probs[top], uncertain: probs[top] < uncertain_below,
        probabilities: Object.fromEntries(labels.map((l, i) => [l, probs[i]])),
        quality: quality(crop, Math.min(det.box[2], det.box[3])), track_id: trackId,
      };
    }
  }

  /* Download (or take from the service worker's cache) the runtime and both models; build the engine. */
  async function load(progress = () => {}) {
    const config = await (await fetch("/api/v1/ondevice")).json();
    if (config.detail) throw new Error(config.detail);
    progress(`Loading the models for this device (${mb(config.total_bytes)}, kept for next time)…`);
    ort.env.wasm.wasmPaths = RUNTIME;
    ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
    const [det, cls] = await Promise.all([fetchBytes(config.files.detector.url), fetchBytes(config.files.model.url)]);
    const detector = await ort.InferenceSession.create(det, options);
    const classifier = await ort.InferenceSession.create(cls, options);
    return new Engine(config, detector, classifier);
  }

  Object.assign(D, { load, Engine });
})();
