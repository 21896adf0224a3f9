"use strict";
// perceptrons playground: the page. Training runs on the server (the perceptrons library);
// this script sends the configuration and draws the frames it receives over a WebSocket.

// Three palettes, one meaning each: classes (categorical, Okabe-Ito), signs of weights and unit
// outputs (ink / dark red), sizes of gradients (light to dark purple). Regression values: brown / teal.
const CLASS_COLORS = [[0, 114, 178], [230, 159, 0], [0, 158, 115], [204, 121, 167], [240, 228, 66]];
const POS = [34, 34, 34], NEG = [178, 24, 43];
const GRAD_LO = [218, 210, 240], GRAD_HI = [63, 0, 125];
const REG_NEG = [140, 81, 10], REG_POS = [1, 102, 94];
const LRS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1];
const CLASSIFICATION = ["circles", "moons", "xor", "spiral", "gaussian", "blobs"];
const REGRESSION = ["plane", "bumps"];
const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const FEATURE_LABELS = {"x1": "x\u2081", "x2": "x\u2082", "x1^2": "x\u2081\u00b2", "x2^2": "x\u2082\u00b2",
  "x1*x2": "x\u2081x\u2082", "sin(x1)": "sin x\u2081", "sin(x2)": "sin x\u2082"};
// noise slider per data set: [max, step, default] (the server sends the same table in its data messages)
let CATALOG = {circles: {noise: [0.3, 0.01, 0.1]}, moons: {noise: [0.4, 0.01, 0.1]}, xor: {noise: [0.3, 0.01, 0.05]},
  spiral: {noise: [0.1, 0.005, 0.02], classes: 2}, gaussian: {noise: [1.5, 0.05, 0.5]}, blobs: {noise: [3, 0.1, 1], classes: 3},
  plane: {noise: [0.5, 0.01, 0.05]}, bumps: {noise: [0.5, 0.01, 0.05]}};
const DEFAULTS = {dataset: "circles", noise: 0.1, n: 500, classes: 2, test_ratio: 0.5, features: ["x1", "x2"], layers: [8, 8],
  activation: "tanh", optimizer: "sgd", lr: 0.1, batch: 10, reg: "none", reg_rate: 0, data_seed: 1,
  init_seed: 1, order_seed: 1, schedule: [], epoch: 0};
const LIMITS = {layers: 6, units: 64, points: 2000, batch: 2000, seed: 2147483647, schedule: 500, epoch: 1000000};
const HAIRLINE_WIRES = 600;  // a network drawing more wires than this draws them one pixel wide
const MAX_POINTS = 1000;  // per chart line: a longer history keeps every other epoch, so drawing stays cheap

const $ = (id) => document.getElementById(id);
const pg = window.__pg = {frames: 0, drawn: 0, raf: 0, last: null, errors: [], data: null, playing: false, curves: null,
  layout: null, hover: null, view: "forward", ignored: [], wires: []};
let config = null;  // read from the URL in setup()
let ws = null;
let pendingFrame = null;

// ---- URL <-> configuration: each field on its own; a bad field falls back to its default -------------
const isInt = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;
const isNum = (v, lo, hi) => typeof v === "number" && Number.isFinite(v) && v >= lo && v <= hi;
const CHOICES = {dataset: [...CLASSIFICATION, ...REGRESSION, "custom"], activation: ["tanh", "relu", "sigmoid", "leaky_relu", "identity"],
  optimizer: ["sgd", "momentum", "adam"], reg: ["none", "l1", "l2"]};
const RANGES = {noise: [0, 3], test_ratio: [0.1, 0.9], lr: [1e-6, 10], reg_rate: [0, 1]};
const INTS = {n: [10, LIMITS.points], classes: [2, 5], batch: [1, LIMITS.batch], data_seed: [0, LIMITS.seed],
  init_seed: [0, LIMITS.seed], order_seed: [0, LIMITS.seed], epoch: [0, LIMITS.epoch]};

function parseField(k, v) {
  // the value of field k from its URL text, or undefined when it is not valid
  const num = v.trim() === "" ? NaN : Number(v);
  if (k in CHOICES) return CHOICES[k].includes(v) ? v : undefined;
  if (k in RANGES) return isNum(num, ...RANGES[k]) ? num : undefined;
  if (k in INTS) return isInt(num, ...INTS[k]) ? num : undefined;
  if (k === "layers") {
    if (v === "") return [];
    const ls = v.split(",").map(Number);
    return ls.length <= LIMITS.layers && ls.every((u) => isInt(u, 1, LIMITS.units)) ? ls : undefined;
  }
  if (k === "features") {
    const fs = v.split(",");
    return fs.length && fs.every((f) => FEATURES.includes(f)) ? FEATURES.filter((f) => fs.includes(f)) : undefined;
  }
  let parsed;
  try { parsed = JSON.parse(v); } catch (e) { return undefined; }
  if (k === "points") {
    const ok = Array.isArray(parsed) && parsed.length <= LIMITS.points && parsed.every((p) => Array.isArray(p) && p.length === 3 &&
      isNum(p[0], -1e6, 1e6) && isNum(p[1], -1e6, 1e6) && isInt(p[2], 0, 4));
    return ok ? parsed : undefined;
  }
  if (k === "window") return Array.isArray(parsed) && parsed.length === 4 && parsed.every((x) => isNum(x, -1e6, 1e6)) &&
    parsed[0] < parsed[1] && parsed[2] < parsed[3] ? parsed : undefined;
  if (k === "schedule") {
    const ok = Array.isArray(parsed) && parsed.length <= LIMITS.schedule && parsed.every((e) => e && isInt(e.epoch, 0, 1e7) &&
      ((Object.keys(e).length === 2 && isNum(e.lr, 1e-6, 10)) ||
       (Object.keys(e).length === 3 && Array.isArray(e.weight) && e.weight.length === 3 && e.weight.every((i) => isInt(i, 0, 64)) && isNum(e.value, -100, 100))));
    return ok ? parsed : undefined;
  }
  return undefined;
}
function readURL() {
  const cfg = JSON.parse(JSON.stringify(DEFAULTS));
  const ignored = [];
  let q;
  try { q = new URLSearchParams(location.hash.slice(1)); } catch (e) { q = new URLSearchParams(); ignored.push("the whole link"); }
  for (const [k, v] of q) {
    if (k === "dataset" && v === "csv") { ignored.push("dataset=csv (the file itself is not in the link)"); continue; }
    if (!(k in DEFAULTS) && k !== "points" && k !== "window") { ignored.push(`${k} (unknown)`); continue; }
    const val = parseField(k, v);
    if (val === undefined) ignored.push(`${k}=${v.length > 24 ? v.slice(0, 24) + "\u2026" : v}`);
    else cfg[k] = val;
  }
  if (cfg.dataset === "custom" && !(Array.isArray(cfg.points) && cfg.points.length >= 2 && new Set(cfg.points.map((p) => p[2])).size >= 2)) {
    if (!ignored.some((s) => s.startsWith("points"))) ignored.push("dataset=custom (it needs points of two classes)");
    cfg.dataset = DEFAULTS.dataset; delete cfg.points;
  }
  if (cfg.dataset !== "custom") { delete cfg.points; delete cfg.window; }
  pg.ignored = ignored;
  return cfg;
}
function writeURL() {
  const q = new URLSearchParams();
  for (const k of Object.keys(DEFAULTS)) {
    if (k === "schedule") { if (config.schedule.length) q.set(k, JSON.stringify(config.schedule)); }
    else if (k === "epoch") { if (config.epoch) q.set(k, String(config.epoch)); }
    else if (k === "layers" || k === "features") q.set(k, config[k].join(","));
    else q.set(k, String(config[k]));
  }
  if (config.dataset === "custom") { q.set("points", JSON.stringify(config.points)); if (config.window) q.set("window", JSON.stringify(config.window)); }
  history.replaceState(null, "", "#" + q.toString());
}

// ---- connection -----------------------------------------------------------------------------
function connect() {
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
  // the server went away (stopped, restarted, or closed an idle session): try again every 2 s;
  // its "hello" on a new connection makes the page send its configuration again
  ws.onclose = () => { showError("Connection to the server lost; reconnecting..."); setTimeout(connect, 2000); };
}
function send(msg) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(msg)); }
function sendConfig() {
  writeURL();
  setPlaying(false);
  const msg = {...config};
  if (config.dataset !== "custom") { delete msg.points; delete msg.window; }
  if (config.dataset === "csv") msg.csv = pg.csvText;
  send({type: "config", config: msg});
}
// A change of anything but the learning rate starts a new run; say so when one was under way.
function restart(what) {
  const epoch = pg.last ? pg.last.epoch : 0;
  config.schedule = []; config.epoch = 0;
  if (epoch > 0) notice(`Changed ${what}: a new run starts from epoch 0 (only the learning rate and weights change mid-run, and are recorded).`);
  sendConfig();
}
function setPlaying(on) {
  pg.playing = on;
  $("play").innerHTML = on ? "&#9646;&#9646;" : "&#x25b6;";
  $("play").setAttribute("aria-label", on ? "Pause" : "Play");
}

function onMessage(m) {
  if (m.type === "hello") { sendConfig(); return; }
  if (m.type === "error") { pg.errors.push(m.message); showError(m.message); return; }
  if (m.type === "data") { onData(m); return; }
  if (m.type === "frame") { onFrame(m); return; }
  if (m.type === "replay") {
    $("heat-caption").textContent = `Opening the shared run at epoch ${m.target}: replayed ${m.epoch} of ${m.target} epochs\u2026`;
    return;
  }
  if (m.type === "model") {
    const bytes = Uint8Array.from(atob(m.data), (c) => c.charCodeAt(0));
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([bytes], {type: "application/octet-stream"}));
    a.download = m.filename;
    document.body.appendChild(a); a.click(); a.remove();
    return;
  }
  if (m.type === "python") { $("code").textContent = m.code; $("code-dialog").showModal(); }
}
function onData(m) {
  pg.data = m;
  pg.pending = 0;
  if (m.catalog) CATALOG = m.catalog;
  pg.curves = {train_loss: [], test_loss: [], test_acc: [], epoch: [], norms: []};
  hideError();
  $("warning").hidden = true;
  layoutNetwork();
}

function showError(text) { $("error").textContent = text; $("error").hidden = false; }
function hideError() { $("error").hidden = true; }
function notice(text) { $("notice").textContent = text; $("notice").hidden = false; }
const fmt = (v, d = 3) => (v === null || v === undefined ? "-" : Number(v).toFixed(d));

function onFrame(f) {
  pg.frames += 1;
  f.W = f.weights.map((b, li) => wireValues(f, b, li));
  f.G = f.grads.map((b, li) => wireValues(f, b, li));
  pg.last = f;
  $("epoch").textContent = f.epoch;
  $("steps").textContent = f.step;
  for (const k of ["train_loss", "test_loss", "train_acc", "test_acc"]) $(k).textContent = fmt(f[k]);
  if (f.gradcheck) {
    const g = f.gradcheck, sampled = g.checked < g.entries;
    $("gradcheck").textContent = `${g.norm_rel_error === null ? "-" : g.norm_rel_error.toExponential(1)} (${g.passed ? "passed" : "FAILED"}` +
      (g.kinks ? `, ${g.kinks} at ReLU kinks` : "") + (sampled ? `; ${g.checked} of ${g.entries.toLocaleString("en")} sampled` : "") + ")";
    $("gradcheck").title = sampled ? `A large network checks ${g.checked} of its ${g.entries} weights and biases, drawn at random afresh at each check (every array in proportion to its size)` :
      "Every weight and bias checked against central differences";
  }
  $("diverged").textContent = f.diverged || ""; $("diverged").hidden = !f.diverged;
  if (f.diverged) setPlaying(false);
  if (f.warning && $("warning").textContent !== f.warning) $("warning").textContent = f.warning;
  $("warning").hidden = !f.warning || !!f.diverged;
  // the server's record of the run (a learning rate set before training, changes made during it)
  if (f.base_lr !== config.lr || JSON.stringify(f.schedule) !== JSON.stringify(config.schedule)) {
    config.lr = f.base_lr; config.schedule = f.schedule; writeURL();
  }
  if (Number($("lr").value) !== f.lr) fillLR(f.lr);
  if (f.history && pg.curves) {  // a shared run replayed to its epoch: the curve it went through
    const h = f.history;
    pg.curves = {train_loss: h.train_loss, test_loss: h.test_loss, test_acc: h.test_acc, epoch: h.epoch,
      norms: h.epoch.map((e) => (e === f.epoch ? f.grad_norms : []))};
    notice(`Opened the shared run at epoch ${f.epoch}: replayed from its seeds and recorded changes, so the weights are the ones it had when the link was copied.`);
  }
  // the address bar opens the run where it is: at each frame while paused, once a second while playing
  if (f.epoch !== config.epoch && (!pg.playing || performance.now() - (pg.urlWritten || 0) > 1000)) {
    config.epoch = f.epoch; writeURL(); pg.urlWritten = performance.now();
  }
  const c = pg.curves;
  if (c && (c.epoch.length === 0 || c.epoch[c.epoch.length - 1] !== f.epoch)) {
    c.train_loss.push(f.train_loss); c.test_loss.push(f.test_loss); c.test_acc.push(f.test_acc); c.epoch.push(f.epoch);
    c.norms.push(f.grad_norms);
    if (c.epoch.length > MAX_POINTS) for (const k of Object.keys(c)) c[k] = c[k].filter((_, i) => i % 2 === 0);  // a long run: every other epoch
  }
  pendingFrame = f;  // drawn at the next animation frame: a slow draw skips frames, never queues them
}
function wireValues(f, b64, li) {
  // a layer's weights (or gradients), row-major (fan_in, fan_out); a large layer's frame carries only its
  // strongest wires (by |w| and by |gradient|), the rest are 0 here and never drawn
  const v = decode(b64, Float32Array);
  if (!f.wire_index[li]) return v;
  const idx = decode(f.wire_index[li], Int32Array), full = new Float32Array(f.sizes[li] * f.sizes[li + 1]);
  for (let t = 0; t < idx.length; t++) full[idx[t]] = v[t];
  return full;
}
function drawLoop() {
  pg.raf += 1;
  if (pendingFrame && pg.data) { const f = pendingFrame; pendingFrame = null; drawAll(f); pg.drawn += 1; }
  requestAnimationFrame(drawLoop);
}
function drawAll(f) { drawHeat(f); drawNetwork(f); drawCurves(); drawBackward(f); }

// ---- drawing helpers ------------------------------------------------------------------------
function decode(b64, Type) {
  const s = atob(b64); const u8 = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i);
  return new Type(u8.buffer);
}
const mix = (a, b, t) => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const WHITE = [255, 255, 255];
const rgb = (c) => `rgb(${c.map(Math.round).join(",")})`;
function signColor(t) { return mix(WHITE, t >= 0 ? POS : NEG, Math.min(1, Math.abs(t)) * 0.85); }
function gradColor(t) { return mix(GRAD_LO, GRAD_HI, Math.min(1, t)); }
function valueColor(t) { return mix(WHITE, t >= 0 ? REG_POS : REG_NEG, Math.min(1, Math.abs(t)) * 0.9); }
function toCanvas(x, y, w) {
  const [x0, x1, y0, y1] = pg.data.window;
  return [(x - x0) / (x1 - x0) * w, (y1 - y) / (y1 - y0) * w];
}
// The maps of `units` units, R x R each, stacked vertically in one offscreen canvas (one putImageData
// per layer and frame, then one drawImage per unit: a 6 x 64 network has 384 of them).
const LUTS = new Map();
function lut(color) {  // the colour of each int8 value, computed once per palette
  if (!LUTS.has(color)) LUTS.set(color, Array.from({length: 256}, (_, k) => color((k - 128) / 127).map(Math.round)));
  return LUTS.get(color);
}
function atlas(values, R, units, color, mask) {
  const tmp = document.createElement("canvas"); tmp.width = R; tmp.height = R * units;
  const ctx = tmp.getContext("2d"), img = ctx.createImageData(R, R * units), d = img.data, table = lut(color);
  for (let i = 0; i < R * R * units; i++) {
    const c = mask && !mask[i % (R * R)] ? MASKED : table[values[i] + 128];
    d[4 * i] = c[0]; d[4 * i + 1] = c[1]; d[4 * i + 2] = c[2]; d[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return tmp;
}
// ---- the output panel: decision regions (or values), the data, or a hovered unit's map -------------
// Offscreen canvases reused frame after frame (a new canvas and context per frame and picture cost
// the renderer more than the drawing itself).
const SCRATCH = new Map();
function scratch(name, w, h) {
  if (!SCRATCH.has(name)) SCRATCH.set(name, document.createElement("canvas"));
  const cv = SCRATCH.get(name);
  if (cv.width !== w || cv.height !== h) { cv.width = w; cv.height = h; }
  return cv;
}
function heatImage(f) {
  const R = f.heat_res, C = f.classes, tmp = scratch("heat", R, R);
  const ctx = tmp.getContext("2d"), img = ctx.createImageData(R, R);
  const disc = $("discretize").checked;
  if (f.regression) {
    const v = decode(f.heat, Int8Array), span = valueSpan();
    for (let i = 0; i < R * R; i++) {
      const t = v[i] / 127 * f.heat_scale / span, c = valueColor(disc ? Math.sign(t) : t);
      img.data.set([c[0], c[1], c[2], 255], 4 * i);
    }
  } else {
    const p = decode(f.heat, Uint8Array), table = regionColors(C, disc), d = img.data;
    for (let i = 0; i < R * R; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (p[i * C + c] > p[i * C + best]) best = c;
      const at = 3 * (best * 256 + p[i * C + best]);
      d[4 * i] = table[at]; d[4 * i + 1] = table[at + 1]; d[4 * i + 2] = table[at + 2]; d[4 * i + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return tmp;
}
// The winning class's colour, paler the less sure (a fresh network is pale, never a muddy mixture), for
// each class and each probability byte: computed once per class count, not once per pixel and frame.
const REGION_TABLES = new Map();
function regionColors(C, disc) {
  const key = `${C}:${disc}`;
  if (!REGION_TABLES.has(key)) {
    const t = new Uint8ClampedArray(3 * 256 * C);
    for (let c = 0; c < C; c++) for (let b = 0; b < 256; b++) {
      const sure = (b / 255 - 1 / C) / (1 - 1 / C);
      t.set(mix(WHITE, CLASS_COLORS[c], disc ? 0.55 : 0.12 + 0.5 * Math.max(0, sure)).map(Math.round), 3 * (c * 256 + b));
    }
    REGION_TABLES.set(key, t);
  }
  return REGION_TABLES.get(key);
}
function valueSpan() {
  let m = 1e-9;
  for (const set of ["train", "test"]) for (const p of pg.data[set]) m = Math.max(m, Math.abs(p[2]));
  return m;
}
function layerMaps(f, layer) {
  // layer 0: the input features (from the data message); hidden layers: their output or gradient maps.
  // {values: R x R int8 per unit, stacked; R; mask: the cells that mean something (gradients: where data is)}
  const key = `${layer}:${pg.view}`, R = atlasRes(f, layer);
  f.maps = f.maps || {};
  if (!f.maps[key]) {
    let values, mask = null;
    if (layer === 0) {
      const maps = pg.data.inputs.map((m) => decode(m.data, Int8Array));
      values = new Int8Array(R * R * maps.length);
      maps.forEach((m, k) => values.set(m, k * R * R));
    } else if (pg.view === "backward") {
      values = decode(f.gradient_maps[layer - 1].data, Int8Array); mask = cellMask(R);
    } else values = decode(f.neurons[layer - 1].data, Int8Array);
    f.maps[key] = {values, R, mask};
  }
  return f.maps[key];
}
function layerAtlas(f, layer) {  // the maps as one image, R x (R * units): a hovered unit is drawn large from it
  const key = `${layer}:${pg.view}`;
  f.atlases = f.atlases || {};
  if (!f.atlases[key]) {
    const {values, R, mask} = layerMaps(f, layer);
    f.atlases[key] = atlas(values, R, values.length / (R * R), signColor, mask);
  }
  return f.atlases[key];
}
const MASKED = [246, 246, 246];
function drawColumn(ctx, f, li, col) {
  // the unit maps of one column, each scaled (nearest cell) into its square, written into one image in
  // device pixels and drawn once: a 6 x 64 network draws 7 images per frame instead of 384
  const {dpr} = pg.layout, s = col[0].s, S = Math.max(1, Math.round(s * dpr));
  const {values, R, mask} = layerMaps(f, li), table = lut(signColor);
  const top = col[0].y - s / 2, rows = col.map((nd) => Math.round((nd.y - s / 2 - top) * dpr));
  const img = new ImageData(S, rows[rows.length - 1] + S), d = img.data, cell = new Int32Array(S);
  for (let p = 0; p < S; p++) cell[p] = Math.min(R - 1, Math.floor((p + 0.5) * R / S));
  col.forEach((nd, j) => {
    for (let py = 0; py < S; py++) {
      const row = cell[py] * R, at = (rows[j] + py) * S * 4;
      for (let px = 0; px < S; px++) {
        const c = mask && !mask[row + cell[px]] ? MASKED : table[values[j * R * R + row + cell[px]] + 128], o = at + 4 * px;
        d[o] = c[0]; d[o + 1] = c[1]; d[o + 2] = c[2]; d[o + 3] = 255;
      }
    }
  });
  const tmp = scratch(`column ${li}`, img.width, img.height);
  tmp.getContext("2d").putImageData(img, 0, 0);
  ctx.drawImage(tmp, col[0].x - s / 2, top, img.width / dpr, img.height / dpr);
}
function atlasRes(f, layer) { return layer > 0 && pg.view === "backward" ? f.grad_res : f.neuron_res; }
function drawUnit(ctx, f, layer, unit, x, y, w, h) {
  const R = atlasRes(f, layer);
  ctx.drawImage(layerAtlas(f, layer), 0, unit * R, R, R, x, y, w, h);
}
function cellMask(R) {
  // cells holding training points (gradients are only defined where the data is)
  if (pg.mask && pg.mask.R === R && pg.mask.data === pg.data) return pg.mask.cells;
  const cells = new Uint8Array(R * R), [x0, x1, y0, y1] = pg.data.window;
  for (const [x, y] of pg.data.train) {
    const cx = Math.min(R - 1, Math.max(0, Math.floor((x - x0) / (x1 - x0) * R)));
    const cy = Math.min(R - 1, Math.max(0, Math.floor((y1 - y) / (y1 - y0) * R)));
    cells[cy * R + cx] = 1;
  }
  pg.mask = {R, data: pg.data, cells};
  return cells;
}
function drawHeat(f) {
  const cv = $("heat"), ctx = cv.getContext("2d"), h = pg.hover;
  let caption = f.regression ? "Predicted value over the input plane (teal: high, brown: low)" : "The predicted class, paler where less sure";
  if (h && h.kind === "node" && h.layer < pg.layout.sizes.length - 1) {
    caption = h.layer === 0 ? `Input feature ${FEATURE_LABELS[config.features[h.unit]]} (hover)` :
      `${pg.view === "backward" ? "Gradient map" : "Output"} of unit ${h.unit + 1} in hidden layer ${h.layer} (hover)`;
    ctx.imageSmoothingEnabled = false;
    drawUnit(ctx, f, h.layer, h.unit, 0, 0, cv.width, cv.height);
  } else {
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatImage(f), 0, 0, cv.width, cv.height);
  }
  $("heat-caption").textContent = caption;
  drawPoints(ctx, cv.width);
}
function pointColor(v) { return pg.data.regression ? valueColor(v / valueSpan()) : CLASS_COLORS[v]; }
function drawPoints(ctx, w) {
  // drawn in the coordinates of a 360-px panel, scaled to the canvas: points grow with the panel
  ctx.save(); ctx.scale(w / 360, w / 360); w = 360;
  const drawing = config.dataset === "custom" && pg.data.config.dataset !== "custom";  // the old set's points would mislead
  const sets = drawing ? [] : ($("show-train").checked ? [["train", false]] : []).concat($("show-test").checked ? [["test", true]] : []);
  for (const [name, hollow] of sets) {
    for (const [x, y, c] of pg.data[name]) {
      const [px, py] = toCanvas(x, y, w), col = rgb(pointColor(c));
      ctx.beginPath(); ctx.arc(px, py, hollow ? 3.6 : 3.2, 0, 2 * Math.PI);
      if (hollow) {  // a ring in the class colour between two dark edges: visible over its own region
        ctx.fillStyle = "#fff"; ctx.fill();
        ctx.lineWidth = 2.2; ctx.strokeStyle = col; ctx.stroke();
        ctx.beginPath(); ctx.arc(px, py, 4.9, 0, 2 * Math.PI); ctx.lineWidth = 0.8; ctx.strokeStyle = "#222"; ctx.stroke();
      } else { ctx.fillStyle = col; ctx.fill(); ctx.strokeStyle = "#222"; ctx.lineWidth = 0.8; ctx.stroke(); }
    }
  }
  // points drawn since the last run started (a single class so far, or the server still answering)
  if (config.dataset === "custom" && config.points) {
    for (const [x, y, c] of drawing ? config.points : config.points.slice(config.points.length - (pg.pending || 0))) {
      const [px, py] = toCanvas(x, y, w);
      ctx.beginPath(); ctx.arc(px, py, 3.6, 0, 2 * Math.PI);
      ctx.fillStyle = rgb(CLASS_COLORS[c]); ctx.fill(); ctx.strokeStyle = "#222"; ctx.lineWidth = 1; ctx.stroke();
    }
  }
  ctx.restore();
}
function fitCanvases() {
  // each canvas gets as many pixels as its box shows (the output grows on a projector, shrinks on a phone)
  const dpr = window.devicePixelRatio || 1;
  for (const id of ["heat", "curves", "gradnorm"]) {
    const cv = $(id), box = cv.getBoundingClientRect();
    if (!box.width) continue;  // not laid out (hidden)
    const w = Math.round(box.width * dpr), h = id === "heat" ? w : Math.round(box.height * dpr);
    if (cv.width !== w || cv.height !== h) { cv.width = w; cv.height = h; }
    cv.scale = dpr;
  }
}

// ---- the network on one canvas: layout, wires, unit maps, hit testing ----------------------------
function layoutNetwork() {
  const cv = $("net-canvas"), box = cv.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
  const W = Math.max(200, box.width), H = Math.max(200, box.height);
  cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr);
  const sizes = [config.features.length, ...config.layers, pg.data.classes];
  const L = sizes.length, margin = 56;
  const nodes = sizes.map((n, li) => {  // each column as large as its unit count allows
    const s = Math.max(4, Math.min(36, Math.floor((H - 12) / n) - 3));
    const gap = Math.min(12, Math.max(1, (H - 12 - n * s) / Math.max(1, n - 1)));
    const x = margin + (L === 1 ? 0 : li * (W - 2 * margin) / (L - 1));
    const total = n * s + (n - 1) * gap, top = (H - total) / 2;
    return Array.from({length: n}, (_, j) => ({x, y: top + j * (s + gap) + s / 2, s}));
  });
  pg.layout = {W, H, dpr, sizes, nodes};
  buildHeads();
  pendingFrame = pendingFrame || pg.last;
}
function buildHeads() {
  // per column: its title and, for hidden layers, + / - unit buttons, at the column's centre
  const heads = $("layer-heads"), {sizes, nodes} = pg.layout;
  heads.innerHTML = "";
  const nl = config.layers.length;
  $("layers-label").textContent = `${nl} hidden layer${nl === 1 ? "" : "s"}`;
  // close columns (a phone, a deep network) get short heads: "8" instead of "8 units"
  const compact = sizes.length > 1 && (nodes[1][0].x - nodes[0][0].x) < 72;
  sizes.forEach((n, li) => {
    const d = document.createElement("div"); d.className = "head";
    d.style.left = `${nodes[li][0] ? nodes[li][0].x : 0}px`;
    if (li === 0) d.textContent = compact ? `${n} in` : `${n} input${n === 1 ? "" : "s"}`;
    else if (li === sizes.length - 1) d.textContent = pg.data.regression ? (compact ? "out" : "value") : compact ? `${n} out` : `${n} classes`;
    else {
      const units = config.layers[li - 1];
      const plus = document.createElement("button"), minus = document.createElement("button");
      plus.textContent = "+"; minus.textContent = "\u2212";
      plus.setAttribute("aria-label", `Add a unit to hidden layer ${li}`);
      minus.setAttribute("aria-label", `Remove a unit from hidden layer ${li}`);
      plus.disabled = units >= LIMITS.units; minus.disabled = units <= 1;
      plus.title = plus.disabled ? `At most ${LIMITS.units} units per layer` : "Add a unit";
      minus.title = minus.disabled ? "A layer needs at least one unit" : "Remove a unit";
      plus.onclick = () => { if (config.layers[li - 1] < LIMITS.units) { config.layers[li - 1] += 1; restart("the layer sizes"); } };
      minus.onclick = () => { if (config.layers[li - 1] > 1) { config.layers[li - 1] -= 1; restart("the layer sizes"); } };
      d.title = `hidden layer ${li}: ${units} unit${units === 1 ? "" : "s"}`;
      d.append(compact ? `${units}` : `${units} units`, document.createElement("br"), plus, minus);
    }
    heads.appendChild(d);
  });
  const full = nl >= LIMITS.layers, wide = config.layers.some((u) => u >= LIMITS.units);
  $("add-layer").disabled = full; $("remove-layer").disabled = nl === 0;
  $("add-layer").title = full ? `At most ${LIMITS.layers} hidden layers` : "Add a hidden layer";
  $("net-note").textContent = [full ? `At most ${LIMITS.layers} hidden layers: "+ layer" is off.` : "",
    wide ? `At most ${LIMITS.units} units per layer: that layer's + is off.` : ""].filter(Boolean).join(" ");
}
function layerWires(f, li) {
  // the wires of layer li to draw: all of them, or the max_wires strongest (by |w|, or |gradient|),
  // chosen among the wires the frame carries (a large layer's strongest by either)
  const n = pg.layout.sizes[li], m = pg.layout.sizes[li + 1], total = n * m, most = f.max_wires;
  const key = pg.view === "backward" ? f.G[li] : f.W[li];
  const idx = [];
  if (total <= most) { for (let k = 0; k < total; k++) idx.push(k); return {idx, n, m, total}; }
  const sent = f.wire_index[li] ? decode(f.wire_index[li], Int32Array) : Int32Array.from({length: total}, (_, k) => k);
  // the max_wires-th largest magnitude by a typed-array sort (native, no comparator), then one plain loop
  const mags = new Float32Array(sent.length);
  for (let t = 0; t < sent.length; t++) mags[t] = Math.abs(key[sent[t]]);
  const cut = mags.slice().sort()[sent.length - most];
  for (let t = 0; t < sent.length && idx.length < most; t++) if (mags[t] >= cut) idx.push(sent[t]);
  return {idx, n, m, total};
}
function drawNetwork(f) {
  const cv = $("net-canvas"), ctx = cv.getContext("2d"), {dpr, nodes, sizes} = pg.layout;
  if (f.sizes.join() !== sizes.join()) return;  // a frame of the previous network
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, pg.layout.W, pg.layout.H);
  const backward = pg.view === "backward";
  let max = 1e-12;
  for (let li = 0; li < f.W.length; li++) for (const v of (backward ? f.G[li] : f.W[li])) max = Math.max(max, Math.abs(v));
  // wires, batched by colour and width bucket: one stroke per bucket however many wires
  const buckets = new Map(), wires = [], thinned = [];
  for (let li = 0; li < f.W.length; li++) {
    const {idx, m, total} = layerWires(f, li);
    if (idx.length < total) thinned.push([li + 1, `the ${idx.length} strongest of ${total}`]);
    for (const k of idx) {
      const i = Math.floor(k / m), j = k % m, a = nodes[li][i], b = nodes[li + 1][j];
      const v = backward ? f.G[li][k] : f.W[li][k], t = Math.abs(v) / max;
      const level = Math.min(5, Math.floor(t * 6));
      const key = backward ? `g${level}` : `${v >= 0 ? "p" : "n"}${level}`;
      if (!buckets.has(key)) buckets.set(key, new Path2D());
      const x1 = a.x + a.s / 2, x2 = b.x - b.s / 2;
      buckets.get(key).moveTo(x1, a.y); buckets.get(key).lineTo(x2, b.y);
      wires.push([li, i, j, x1, a.y, x2, b.y]);
    }
  }
  pg.wires = wires;
  // many wires: one-pixel lines, the size in their darkness alone (a software canvas rasterises wide
  // anti-aliased lines ~3x slower than hairlines: 2,400 wide ones cost 6 ms a frame)
  const hair = wires.length > HAIRLINE_WIRES;
  for (const [key, path] of buckets) {
    const level = Number(key.slice(1));
    ctx.strokeStyle = key[0] === "g" ? rgb(gradColor((level + 0.5) / 6)) : key[0] === "p" ? rgb(POS) : rgb(NEG);
    ctx.globalAlpha = hair ? 0.12 + 0.17 * level : 0.25 + 0.12 * level;
    ctx.lineWidth = hair ? 1 : 0.5 + 0.7 * level;
    ctx.stroke(path);
  }
  ctx.globalAlpha = 1;
  // units: inputs show their feature, hidden units their output (or gradient) map, outputs their class;
  // every border in one stroke (384 separate strokes cost more than the maps themselves)
  ctx.imageSmoothingEnabled = false;
  const borders = new Path2D();
  ctx.font = "10px sans-serif"; ctx.textAlign = "right";
  nodes.forEach((col, li) => {
    if (li < nodes.length - 1 && col.length) drawColumn(ctx, f, li, col);
    col.forEach((nd, j) => {
      const x = nd.x - nd.s / 2, y = nd.y - nd.s / 2;
      if (li === nodes.length - 1) { ctx.fillStyle = f.regression ? rgb(REG_POS) : rgb(CLASS_COLORS[j % 5]); ctx.fillRect(x, y, nd.s, nd.s); }
      borders.rect(x, y, nd.s, nd.s);
      if (li === 0 && nd.s >= 20) { ctx.fillStyle = "#000"; ctx.fillText(FEATURE_LABELS[config.features[j]], x - 4, nd.y + 3); }
    });
  });
  ctx.textAlign = "left"; ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.stroke(borders);
  const hov = pg.hover && pg.hover.kind === "node" ? (nodes[pg.hover.layer] || [])[pg.hover.unit] : null;
  if (hov) { ctx.strokeStyle = "#000"; ctx.lineWidth = 2; ctx.strokeRect(hov.x - hov.s / 2, hov.y - hov.s / 2, hov.s, hov.s); }
  const size = hair ? "darkness" : "width";
  const hint = (backward ?
    `Backward pass: line darkness${hair ? "" : " and width"} show |dLoss/dW| over the training set; each square shows the gradient reaching that unit (dLoss/da, black: positive, red: negative) where the training points are.` :
    `Each square is a neuron's output over the input plane; hover it to see it large. Lines are weights (${size}: size, black: positive, red: negative); hover for the value, click to edit it.`) +
    (thinned.length ? ` Large layers draw their strongest wires only (${thinnedText(thinned)}).` : "");
  if ($("net-hint").textContent !== hint) $("net-hint").textContent = hint;
}
function thinnedText(thinned) {
  // "layers 2-6: the 400 strongest of 4096 each" rather than the same words five times
  const same = thinned.every(([, t]) => t === thinned[0][1]);
  if (!same || thinned.length === 1) return thinned.map(([l, t]) => `layer ${l}: ${t}`).join("; ");
  const layers = thinned.map(([l]) => l), run = layers.every((l, k) => k === 0 || l === layers[k - 1] + 1);
  return `layers ${run ? `${layers[0]}\u2013${layers[layers.length - 1]}` : layers.join(", ")}: ${thinned[0][1]} each`;
}
function hitTest(x, y) {
  if (!pg.layout) return null;
  const {nodes} = pg.layout;
  for (let li = 0; li < nodes.length; li++) for (let j = 0; j < nodes[li].length; j++) {
    const nd = nodes[li][j];
    if (Math.abs(x - nd.x) <= nd.s / 2 + 1 && Math.abs(y - nd.y) <= nd.s / 2 + 1) return {kind: "node", layer: li, unit: j};
  }
  let best = null, bestD = 5;
  for (const [li, i, j, x1, y1, x2, y2] of pg.wires) {
    if (x < x1 - 2 || x > x2 + 2) continue;
    const dx = x2 - x1, dy = y2 - y1, t = Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)));
    const d = Math.hypot(x - x1 - t * dx, y - y1 - t * dy);
    if (d < bestD) { bestD = d; best = {kind: "wire", layer: li, i, j}; }
  }
  return best;
}
pg.weight = (li, i, j) => { const f = pg.last, m = pg.layout.sizes[li + 1]; return [f.W[li][i * m + j], f.G[li][i * m + j]]; };
function showTip(hit, x, y) {
  const tip = $("tip");
  if (!hit || !$("weight-editor").hidden) { tip.hidden = true; return; }  // no tooltip over an open editor
  if (hit.kind === "wire") {
    const [w, g] = pg.weight(hit.layer, hit.i, hit.j);
    tip.textContent = `W${hit.layer}[${hit.i},${hit.j}] = ${w.toPrecision(4)}   gradient ${g.toExponential(2)}  (click to edit)`;
  } else {
    const {layer, unit} = hit, last = pg.layout.sizes.length - 1;
    tip.textContent = layer === 0 ? `input ${FEATURE_LABELS[config.features[unit]]}` :
      layer === last ? (pg.data.regression ? "output value" : `class ${unit}`) : `hidden layer ${layer}, unit ${unit + 1}`;
  }
  tip.hidden = false;
  tip.style.left = `${Math.min(x + 12, pg.layout.W - tip.offsetWidth)}px`; tip.style.top = `${y + 14}px`;
}
function openEditor(hit, x, y) {
  const ed = $("weight-editor");
  pg.editing = hit;
  $("tip").hidden = true;  // the editor replaces the tooltip (which peeked out beside it)
  $("weight-name").textContent = `W${hit.layer}[${hit.i},${hit.j}]`;
  $("weight-value").value = pg.weight(hit.layer, hit.i, hit.j)[0].toFixed(3);
  ed.hidden = false;
  ed.style.left = `${Math.max(0, Math.min(x, pg.layout.W - ed.offsetWidth))}px`; ed.style.top = `${y + 10}px`;
  $("weight-value").focus(); $("weight-value").select();
}

// ---- charts ----------------------------------------------------------------------------------
function logChart(cv, series, colors, label, extra) {
  // lines of positive values on a log10 axis (nulls skipped); extra(ctx) draws on top
  const ctx = cv.getContext("2d"), s = cv.scale || 1, w = cv.width / s, h = cv.height / s;
  ctx.setTransform(s, 0, 0, s, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const vals = series.flat().filter((v) => v !== null && v > 0 && Number.isFinite(v));
  if (!vals.length) return;
  let lo = Math.log10(vals.reduce((a, b) => Math.min(a, b))), hi = Math.log10(vals.reduce((a, b) => Math.max(a, b)));
  if (hi - lo < 1) { const mid = (hi + lo) / 2; lo = mid - 0.5; hi = mid + 0.5; }
  const n = series.reduce((a, s) => Math.max(a, s.length), 0);
  const y = (v) => h - 3 - (Math.log10(v) - lo) / (hi - lo) * (h - 16);
  ctx.strokeStyle = "#eee"; ctx.lineWidth = 1;
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) { ctx.beginPath(); ctx.moveTo(0, y(10 ** d)); ctx.lineTo(w, y(10 ** d)); ctx.stroke(); }
  series.forEach((s, k) => {
    ctx.beginPath(); ctx.strokeStyle = colors[k]; ctx.lineWidth = 1.5; let on = false;
    s.forEach((v, i) => {
      const x = n === 1 ? 2 : i / (n - 1) * (w - 4) + 2;
      if (v === null || !(v > 0) || !Number.isFinite(v)) { on = false; return; }
      if (on) ctx.lineTo(x, y(v)); else ctx.moveTo(x, y(v)); on = true;
    });
    ctx.stroke();
  });
  if (extra) extra(ctx, w, h, n);
  ctx.fillStyle = "#555"; ctx.font = "10px sans-serif";
  ctx.fillText(`${label} (log scale ${(10 ** lo).toPrecision(2)} .. ${(10 ** hi).toPrecision(2)})`, 4, 10);
}
function drawCurves() {
  const c = pg.curves; if (!c || !c.epoch.length) return;
  logChart($("curves"), [c.train_loss, c.test_loss], ["#0b3d91", "#b35900"], `loss, epochs 0..${c.epoch[c.epoch.length - 1]}`,
    (ctx, w, h, n) => {
      if (pg.data.regression) return;
      ctx.beginPath(); ctx.strokeStyle = "#1a7f37"; ctx.lineWidth = 1.5;
      c.test_acc.forEach((v, i) => { const x = n === 1 ? 2 : i / (n - 1) * (w - 4) + 2, yy = h - 3 - (v || 0) * (h - 16); if (i) ctx.lineTo(x, yy); else ctx.moveTo(x, yy); });
      ctx.stroke();
    });
}
const LAYER_SHADES = (L) => Array.from({length: L}, (_, i) => rgb(gradColor(L === 1 ? 1 : 0.25 + 0.75 * i / (L - 1))));
function drawBackward(f) {
  const c = pg.curves; if (!c || !c.norms.length) return;
  const L = f.grad_norms.length, shades = LAYER_SHADES(L);
  logChart($("gradnorm"), Array.from({length: L}, (_, i) => c.norms.map((r) => r[i] ?? null)), shades, "|dLoss/dW| per layer");
  const legend = Array.from({length: L}, (_, i) => `<span style="color:${shades[i]}">W${i}${i === 0 ? " (first)" : i === L - 1 ? " (last)" : ""}</span>`).join(" ");
  if ($("gradnorm-legend").innerHTML !== legend) $("gradnorm-legend").innerHTML = legend;
  const dead = f.dead.map((d, i) => `${d}/${config.layers[i]}`).join(", ");
  const total = f.dead.reduce((a, b) => a + b, 0), units = config.layers.reduce((a, b) => a + b, 0);
  $("dead").textContent = units ? `Dead units (zero gradient on every training point): ${dead} (${Math.round(100 * total / units)} %)` : "No hidden units.";
}

// ---- controls -------------------------------------------------------------------------------
function fillSelect(id, values, current) {
  $(id).innerHTML = values.map((v) => `<option value="${v}"${v === current ? " selected" : ""}>${v}</option>`).join("");
}
function fillLR(current) { fillSelect("lr", LRS.includes(current) ? LRS : [...LRS, current].sort((a, b) => a - b), current); }
function setNoiseRange() {
  const [max, step] = (CATALOG[config.dataset] || {noise: [3, 0.01]}).noise;
  $("noise").max = Math.max(max, config.noise); $("noise").step = step;
}
function syncControls() {
  fillLR(pg.last && pg.last.epoch > 0 ? pg.last.lr : config.lr);
  fillSelect("reg_rate", REG_RATES.includes(config.reg_rate) ? REG_RATES : [...REG_RATES, config.reg_rate].sort((a, b) => a - b), config.reg_rate);
  for (const k of ["activation", "optimizer", "reg"]) $(k).value = config[k];
  for (const k of ["batch", "data_seed", "init_seed", "order_seed"]) $(k).value = config[k];
  setNoiseRange();
  for (const k of ["noise", "n", "test_ratio", "classes"]) { $(k).value = config[k]; $(k + "-out").textContent = config[k]; }
  const regression = REGRESSION.includes(config.dataset);
  $("problem").value = regression ? "regression" : "classification";
  $("datasets").innerHTML = (regression ? REGRESSION : CLASSIFICATION).map((d) =>
    `<button data-name="${d}" aria-pressed="${d === config.dataset}" class="${d === config.dataset ? "on" : ""}">${d}</button>`).join("");
  document.querySelectorAll("#datasets button").forEach((b) => b.onclick = () => chooseDataset(b.dataset.name));
  $("classes-row").hidden = !["blobs", "spiral"].includes(config.dataset);
  $("draw-row").hidden = regression; $("csv").parentElement.hidden = regression;
  document.querySelectorAll(".acc").forEach((e) => e.hidden = regression);
  $("features").querySelectorAll("input").forEach((b) => { b.checked = config.features.includes(b.value); });
}
function chooseDataset(name) {
  config.dataset = name; delete config.points; delete config.window;
  const cat = CATALOG[name] || {};
  if (cat.noise) config.noise = cat.noise[2];
  if (cat.classes) config.classes = cat.classes;
  syncControls(); restart(`the data set to ${name}`);
}
// a whole number typed into a field: taken if valid, else the field goes back and the page says why
function intField(k, lo, hi, what) {
  const raw = $(k).value.trim(), v = Number(raw);
  if (raw === "" || !isInt(v, lo, hi)) {
    $(k).value = config[k];
    showError(`${what} must be a whole number from ${lo} to ${hi}; got "${raw}". Kept ${config[k]}.`);
    return;
  }
  hideError();
  if (v !== config[k]) { config[k] = v; restart(what.toLowerCase()); }
}
function setupFeatures() {
  $("features").insertAdjacentHTML("beforeend", FEATURES.map((f) =>
    `<label for="feat-${f}"><input type="checkbox" id="feat-${f}" value="${f}" aria-label="feature ${f}"> ${FEATURE_LABELS[f]}</label>`).join(""));
  $("features").querySelectorAll("input").forEach((b) => b.onchange = () => {
    const chosen = FEATURES.filter((f) => $("feat-" + f).checked);
    if (!chosen.length) { b.checked = true; showError("The network needs at least one input feature."); return; }
    config.features = chosen; restart("the input features");
  });
}
function togglePlay() { setPlaying(!pg.playing); send({type: pg.playing ? "play" : "pause"}); }
function step() { setPlaying(false); send({type: "step"}); }
function copyLink() {
  if (pg.last) config.epoch = pg.last.epoch;  // the link opens where the run is now
  writeURL();
  const done = (ok) => {
    $("link-status").textContent = ok ? "Copied" : "Copy blocked: the link is in the address bar";
    $("link").title = ok ? "Copied to the clipboard" : "The browser blocked the clipboard: copy the address bar";
    $("link").textContent = ok ? "Copied \u2713" : "Share link";
    clearTimeout(pg.linkTimer);
    pg.linkTimer = setTimeout(() => { $("link").textContent = "Share link"; $("link-status").textContent = ""; }, 2500);
  };
  if (navigator.clipboard) navigator.clipboard.writeText(location.href).then(() => done(true), () => done(false));
  else done(false);
}
function addPoint(ev, nextClass) {
  if (!$("draw").checked || !pg.data || pg.data.regression) return;
  ev.preventDefault();
  if (nextClass) $("draw-class").value = String((Number($("draw-class").value) + 1) % 5);
  const r = $("heat").getBoundingClientRect(), [x0, x1, y0, y1] = pg.data.window;
  const x = x0 + (ev.clientX - r.left) / r.width * (x1 - x0), y = y1 - (ev.clientY - r.top) / r.height * (y1 - y0);
  if (config.dataset !== "custom") {  // a fresh drawing, in the view the user is looking at
    config.points = []; config.window = pg.data.window.map((v) => Number(v.toFixed(4)));
    config.dataset = "custom"; config.schedule = [];
  }
  config.epoch = 0;  // new data: a new run from its start
  config.points.push([Number(x.toFixed(3)), Number(y.toFixed(3)), Number($("draw-class").value)]);
  $("show-train").checked = $("show-test").checked = true;  // no click may vanish into a hidden set
  pg.pending = (pg.pending || 0) + 1;
  syncControls();
  if (pg.last) drawHeat(pg.last);
  if (new Set(config.points.map((p) => p[2])).size >= 2) sendConfig();
  else { writeURL(); $("heat-caption").textContent = "Add a point of another class to start training."; }
}
function setup() {
  config = readURL();
  setupFeatures();
  $("problem").onchange = () => chooseDataset($("problem").value === "regression" ? REGRESSION[0] : CLASSIFICATION[0]);
  for (const k of ["activation", "optimizer", "reg"]) $(k).onchange = () => { config[k] = $(k).value; restart(`the ${k}`); };
  $("reg_rate").onchange = () => { config.reg_rate = Number($("reg_rate").value); restart("the regularization rate"); };
  $("batch").onchange = () => intField("batch", 1, LIMITS.batch, "Batch size");
  $("data_seed").onchange = () => intField("data_seed", 0, LIMITS.seed, "Data seed");
  $("init_seed").onchange = () => intField("init_seed", 0, LIMITS.seed, "Initial weights seed");
  $("order_seed").onchange = () => intField("order_seed", 0, LIMITS.seed, "Sample order seed");
  for (const k of ["noise", "n", "test_ratio", "classes"]) {
    $(k).oninput = () => { $(k + "-out").textContent = $(k).value; };
    $(k).onchange = () => { config[k] = Number($(k).value); restart(`the ${k === "n" ? "number of points" : k.replace("_", " ")}`); };
  }
  // the learning rate may change mid-run: the server records it in the run's schedule
  $("lr").onchange = () => send({type: "lr", value: Number($("lr").value)});
  $("play").onclick = togglePlay;
  $("step").onclick = step;
  $("reset").onclick = () => { setPlaying(false); send({type: "reset"}); };
  $("add-layer").onclick = () => { if (config.layers.length < LIMITS.layers) { config.layers.push(4); restart("the layers"); } };
  $("remove-layer").onclick = () => { if (config.layers.length) { config.layers.pop(); restart("the layers"); } };
  $("net-view").onchange = () => { pg.view = $("net-view").value; pendingFrame = pg.last; };
  $("download").onclick = () => send({type: "save"});
  $("python").onclick = () => send({type: "python"});
  $("link").onclick = copyLink;
  for (const id of ["show-test", "show-train", "discretize"]) $(id).onchange = () => { pendingFrame = pg.last; };
  $("csv").onchange = async () => {
    const file = $("csv").files[0]; if (!file) return;
    pg.csvText = await file.text(); config.dataset = "csv"; syncControls(); restart("the data to your CSV");
  };
  $("heat").addEventListener("click", (ev) => addPoint(ev, false));
  $("heat").addEventListener("contextmenu", (ev) => addPoint(ev, true));
  const net = $("net-canvas"), pos = (ev) => { const r = net.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
  net.addEventListener("mousemove", (ev) => {
    const [x, y] = pos(ev), hit = hitTest(x, y);
    const changed = JSON.stringify(hit) !== JSON.stringify(pg.hover);
    pg.hover = hit; showTip(hit, x, y);
    if (changed && pg.last) pendingFrame = pg.last;
  });
  net.addEventListener("mouseleave", () => { pg.hover = null; $("tip").hidden = true; if (pg.last) pendingFrame = pg.last; });
  net.addEventListener("click", (ev) => { const [x, y] = pos(ev), hit = hitTest(x, y); if (hit && hit.kind === "wire") openEditor(hit, x, y); });
  $("weight-editor").onsubmit = (ev) => {
    ev.preventDefault();
    const v = Number($("weight-value").value), h = pg.editing;
    if (!$("weight-value").value.trim() || !isNum(v, -100, 100)) { showError("A weight must be a number from -100 to 100."); return; }
    send({type: "edit", layer: h.layer, i: h.i, j: h.j, value: v});
    $("weight-editor").hidden = true;
  };
  $("weight-cancel").onclick = () => { $("weight-editor").hidden = true; };
  document.addEventListener("keydown", (ev) => {
    if (ev.target.closest("input, select, textarea, dialog, form") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === " " && ev.target.closest("button")) return;  // a focused button presses itself
    if (ev.key === " ") { ev.preventDefault(); togglePlay(); }
    else if (ev.key === "ArrowRight") { ev.preventDefault(); step(); }
  });
  window.addEventListener("hashchange", () => {
    config = readURL(); syncControls(); sendConfig();
    if (pg.ignored.length) notice(`Ignored in the link (defaults used instead): ${pg.ignored.join(", ")}.`);
  });
  window.addEventListener("resize", () => { fitCanvases(); if (pg.data) layoutNetwork(); pendingFrame = pendingFrame || pg.last; });
  if (pg.ignored.length) notice(`Ignored in the link (defaults used instead): ${pg.ignored.join(", ")}.`);
  syncControls();
  fitCanvases();
  connect();
  requestAnimationFrame(drawLoop);
}
setup();
