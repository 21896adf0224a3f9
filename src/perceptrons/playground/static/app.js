"use strict";
// perceptrons playground: the page. Training runs on the server (the perceptrons library);
// this script sends the configuration and draws the frames it receives over a WebSocket.

const COLORS = [[0, 114, 178], [230, 159, 0], [0, 158, 115], [204, 121, 167], [213, 94, 0]];
const LRS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
const DATASETS = ["circles", "moons", "xor", "spiral", "gaussian", "blobs"];
const DEFAULTS = {dataset: "circles", noise: 0.1, n: 500, classes: 3, test_ratio: 0.5, layers: [8, 8],
  activation: "tanh", optimizer: "sgd", lr: 0.03, batch: 10, reg: "none", reg_rate: 0, data_seed: 1,
  init_seed: 1, order_seed: 1};
const NUMERIC = ["noise", "n", "classes", "test_ratio", "lr", "batch", "reg_rate", "data_seed", "init_seed", "order_seed"];

const $ = (id) => document.getElementById(id);
const pg = window.__pg = {frames: 0, last: null, errors: [], data: null, playing: false, curves: null};
let config = readURL();
let ws = null;

// ---- URL <-> configuration ------------------------------------------------------------------
function readURL() {
  const cfg = JSON.parse(JSON.stringify(DEFAULTS));
  const q = new URLSearchParams(location.hash.slice(1));
  for (const [k, v] of q) {
    if (k === "layers") cfg.layers = v === "" ? [] : v.split(",").map(Number);
    else if (k === "points") cfg.points = JSON.parse(v);
    else if (NUMERIC.includes(k)) cfg[k] = Number(v);
    else if (k in DEFAULTS) cfg[k] = v;
  }
  if (cfg.dataset === "csv") cfg.dataset = DEFAULTS.dataset;  // the file itself is not in the link
  return cfg;
}
function writeURL() {
  const q = new URLSearchParams();
  for (const k of Object.keys(DEFAULTS)) q.set(k, k === "layers" ? config.layers.join(",") : String(config[k]));
  if (config.dataset === "custom") q.set("points", JSON.stringify(config.points));
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
  if (config.dataset !== "custom") delete msg.points;
  if (config.dataset === "csv") msg.csv = pg.csvText;
  send({type: "config", config: msg});
}
function setPlaying(on) {
  pg.playing = on;
  $("play").innerHTML = on ? "&#9646;&#9646;" : "&#x25b6;";
}

function onMessage(m) {
  if (m.type === "hello") { sendConfig(); return; }
  if (m.type === "error") { pg.errors.push(m.message); showError(m.message); return; }
  if (m.type === "data") { pg.data = m; pg.curves = {train_loss: [], test_loss: [], test_acc: [], epoch: []}; hideError(); buildNetwork(); return; }
  if (m.type === "frame") { onFrame(m); return; }
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

function showError(text) { $("error").textContent = text; $("error").hidden = false; }
function hideError() { $("error").hidden = true; }
const fmt = (v, d = 3) => (v === null || v === undefined ? "NaN" : Number(v).toFixed(d));

function onFrame(f) {
  pg.frames += 1;
  pg.last = f;
  $("epoch").textContent = f.epoch;
  $("steps").textContent = f.step;
  for (const k of ["train_loss", "test_loss", "train_acc", "test_acc"]) $(k).textContent = fmt(f[k]);
  if (f.gradcheck) {
    const g = f.gradcheck;
    $("gradcheck").textContent = `${g.norm_rel_error.toExponential(1)} (${g.passed ? "passed" : "FAILED"}` +
      (g.kinks ? `, ${g.kinks} at ReLU kinks` : "") + ")";
  }
  if (f.diverged) {
    $("diverged").textContent = f.diverged;
    $("diverged").hidden = false;
    setPlaying(false);
  } else $("diverged").hidden = true;
  const c = pg.curves;
  if (c && (c.epoch.length === 0 || c.epoch[c.epoch.length - 1] !== f.epoch)) {
    c.train_loss.push(f.train_loss); c.test_loss.push(f.test_loss); c.test_acc.push(f.test_acc); c.epoch.push(f.epoch);
  }
  drawHeat(f); drawNeurons(f); drawWires(f); drawCurves();
}

// ---- drawing --------------------------------------------------------------------------------
function decode(b64, Type) {
  const s = atob(b64); const out = new Type(s.length);
  const u8 = new Uint8Array(out.buffer);
  for (let i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i);
  return out;
}
function toCanvas(x, y, w) {
  const [x0, x1, y0, y1] = pg.data.window;
  return [(x - x0) / (x1 - x0) * w, (y1 - y) / (y1 - y0) * w];
}
function drawHeat(f) {
  const cv = $("heat"), ctx = cv.getContext("2d"), R = f.heat_res, C = f.classes;
  const p = decode(f.heat, Uint8Array);
  const img = ctx.createImageData(R, R);
  const disc = $("discretize").checked;
  for (let i = 0; i < R * R; i++) {
    let r = 0, g = 0, b = 0, best = 0;
    for (let c = 0; c < C; c++) if (p[i * C + c] > p[i * C + best]) best = c;
    for (let c = 0; c < C; c++) {
      const w = disc ? (c === best ? 1 : 0) : p[i * C + c] / 255;
      r += w * COLORS[c][0]; g += w * COLORS[c][1]; b += w * COLORS[c][2];
    }
    const conf = disc ? 1 : p[i * C + best] / 255, light = 0.35 + 0.45 * (1 - conf);
    img.data[4 * i] = r + (255 - r) * light; img.data[4 * i + 1] = g + (255 - g) * light;
    img.data[4 * i + 2] = b + (255 - b) * light; img.data[4 * i + 3] = 255;
  }
  const tmp = document.createElement("canvas"); tmp.width = R; tmp.height = R;
  tmp.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(tmp, 0, 0, cv.width, cv.height);
  const sets = ($("show-train").checked ? [["train", false]] : []).concat($("show-test").checked ? [["test", true]] : []);
  for (const [name, hollow] of sets) {
    for (const [x, y, c] of pg.data[name]) {
      const [px, py] = toCanvas(x, y, cv.width);
      ctx.beginPath(); ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
      const col = `rgb(${COLORS[c].join(",")})`;
      if (hollow) { ctx.strokeStyle = col; ctx.lineWidth = 2; ctx.stroke(); }
      else { ctx.fillStyle = col; ctx.fill(); ctx.strokeStyle = "#fff"; ctx.lineWidth = 1; ctx.stroke(); }
    }
  }
}
function buildNetwork() {
  const cols = $("columns"); cols.innerHTML = "";
  const sizes = [2, ...config.layers, pg.data.classes];
  $("layers-label").textContent = `${config.layers.length} hidden layer${config.layers.length === 1 ? "" : "s"}`;
  sizes.forEach((n, li) => {
    const col = document.createElement("div"); col.className = "layer";
    const title = document.createElement("div"); title.className = "title";
    if (li === 0) title.textContent = "inputs";
    else if (li === sizes.length - 1) title.textContent = `${n} classes (softmax)`;
    else {
      title.textContent = `${n} units`;
      const units = document.createElement("div"); units.className = "units";
      const plus = document.createElement("button"); plus.textContent = "+"; plus.title = "add a unit";
      const minus = document.createElement("button"); minus.textContent = "\u2212"; minus.title = "remove a unit";
      plus.onclick = () => { if (config.layers[li - 1] < 64) { config.layers[li - 1] += 1; sendConfig(); } };
      minus.onclick = () => { if (config.layers[li - 1] > 1) { config.layers[li - 1] -= 1; sendConfig(); } };
      units.append(plus, minus); title.appendChild(units);
    }
    col.appendChild(title);
    for (let j = 0; j < n; j++) {
      let el;
      if (li === 0) { el = document.createElement("div"); el.className = "input-node"; el.textContent = j ? "x\u2082" : "x\u2081"; }
      else if (li === sizes.length - 1) { el = document.createElement("div"); el.className = "input-node"; el.style.background = `rgb(${COLORS[j].join(",")})`; el.textContent = j; }
      else { el = document.createElement("canvas"); el.className = "neuron"; el.width = 24; el.height = 24; }
      el.dataset.layer = li; el.dataset.unit = j; el.id = `node-${li}-${j}`;
      col.appendChild(el);
    }
    cols.appendChild(col);
  });
}
function drawNeurons(f) {
  const R = f.neuron_res;
  f.neurons.forEach((layer, li) => {
    const v = decode(layer.data, Int8Array), units = v.length / (R * R);
    for (let j = 0; j < units; j++) {
      const cv = $(`node-${li + 1}-${j}`); if (!cv) continue;
      const ctx = cv.getContext("2d"), img = ctx.createImageData(R, R);
      for (let i = 0; i < R * R; i++) {
        const t = v[j * R * R + i] / 127, col = t >= 0 ? COLORS[0] : COLORS[1], a = Math.abs(t);
        img.data[4 * i] = 255 + (col[0] - 255) * a; img.data[4 * i + 1] = 255 + (col[1] - 255) * a;
        img.data[4 * i + 2] = 255 + (col[2] - 255) * a; img.data[4 * i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
    }
  });
}
function drawWires(f) {
  const svg = $("wires"), net = $("net"), box = net.getBoundingClientRect();
  svg.setAttribute("width", net.scrollWidth); svg.setAttribute("height", net.scrollHeight);
  let max = 1e-9;
  for (const W of f.weights) for (const row of W) for (const w of row) max = Math.max(max, Math.abs(w));
  const parts = [];
  f.weights.forEach((W, li) => {
    W.forEach((row, i) => row.forEach((w, j) => {
      const a = $(`node-${li}-${i}`), b = $(`node-${li + 1}-${j}`); if (!a || !b) return;
      const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
      const x1 = ra.right - box.left + net.scrollLeft, y1 = ra.top + ra.height / 2 - box.top;
      const x2 = rb.left - box.left + net.scrollLeft, y2 = rb.top + rb.height / 2 - box.top;
      const col = w >= 0 ? "#0072B2" : "#E69F00";
      parts.push(`<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${col}" stroke-opacity="0.75" ` +
        `stroke-width="${(0.4 + 4 * Math.abs(w) / max).toFixed(2)}"><title>W${li}[${i},${j}] = ${w}</title></line>`);
    }));
  });
  svg.innerHTML = parts.join("");
}
function drawCurves() {
  const cv = $("curves"), ctx = cv.getContext("2d"), c = pg.curves; if (!c) return;
  ctx.clearRect(0, 0, cv.width, cv.height);
  const n = c.epoch.length; if (!n) return;
  const finite = c.train_loss.concat(c.test_loss).filter((v) => v !== null && isFinite(v));
  const top = Math.max(1e-9, ...finite, 0.1);
  const line = (vals, scale, color) => {
    ctx.beginPath(); ctx.strokeStyle = color; ctx.lineWidth = 1.5;
    vals.forEach((v, i) => {
      const x = n === 1 ? 0 : i / (n - 1) * (cv.width - 4) + 2, y = cv.height - 2 - (v === null ? 0 : v / scale) * (cv.height - 14);
      if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
    });
    ctx.stroke();
  };
  line(c.train_loss, top, "#0072B2"); line(c.test_loss, top, "#D55E00"); line(c.test_acc, 1, "#009E73");
  ctx.fillStyle = "#555"; ctx.font = "10px sans-serif"; ctx.fillText(`loss max ${top.toFixed(2)}, accuracy 0..1, epochs 0..${c.epoch[n - 1]}`, 4, 10);
}

// ---- controls -------------------------------------------------------------------------------
function fillSelect(id, values, current) {
  $(id).innerHTML = values.map((v) => `<option value="${v}"${v === current ? " selected" : ""}>${v}</option>`).join("");
}
function syncControls() {
  fillSelect("lr", LRS.includes(config.lr) ? LRS : [...LRS, config.lr].sort((a, b) => a - b), config.lr);
  fillSelect("reg_rate", REG_RATES.includes(config.reg_rate) ? REG_RATES : [...REG_RATES, config.reg_rate], config.reg_rate);
  for (const k of ["activation", "optimizer", "reg"]) $(k).value = config[k];
  for (const k of ["batch", "data_seed", "init_seed", "order_seed"]) $(k).value = config[k];
  for (const k of ["noise", "n", "test_ratio", "classes"]) { $(k).value = config[k]; $(k + "-out").textContent = config[k]; }
  $("classes-row").hidden = !["blobs", "spiral"].includes(config.dataset);
  document.querySelectorAll("#datasets button").forEach((b) => b.classList.toggle("on", b.dataset.name === config.dataset));
}
function setup() {
  $("datasets").innerHTML = DATASETS.map((d) => `<button data-name="${d}">${d}</button>`).join("");
  document.querySelectorAll("#datasets button").forEach((b) => b.onclick = () => {
    config.dataset = b.dataset.name; delete config.points; syncControls(); sendConfig();
  });
  for (const k of ["activation", "optimizer", "reg"]) $(k).onchange = () => { config[k] = $(k).value; sendConfig(); };
  $("reg_rate").onchange = () => { config.reg_rate = Number($("reg_rate").value); sendConfig(); };
  for (const k of ["batch", "data_seed", "init_seed", "order_seed"]) $(k).onchange = () => { config[k] = Math.max(0, Math.round(Number($(k).value))); sendConfig(); };
  for (const k of ["noise", "n", "test_ratio", "classes"]) {
    $(k).oninput = () => { $(k + "-out").textContent = $(k).value; };
    $(k).onchange = () => { config[k] = Number($(k).value); sendConfig(); };
  }
  $("lr").onchange = () => { config.lr = Number($("lr").value); writeURL(); send({type: "lr", value: config.lr}); };
  $("play").onclick = () => { setPlaying(!pg.playing); send({type: pg.playing ? "play" : "pause"}); };
  $("step").onclick = () => { setPlaying(false); send({type: "step"}); };
  $("reset").onclick = () => { setPlaying(false); send({type: "reset"}); };
  $("add-layer").onclick = () => { if (config.layers.length < 6) { config.layers.push(4); sendConfig(); } };
  $("remove-layer").onclick = () => { if (config.layers.length) { config.layers.pop(); sendConfig(); } };
  $("download").onclick = () => send({type: "save"});
  $("python").onclick = () => send({type: "python"});
  $("link").onclick = () => { writeURL(); navigator.clipboard && navigator.clipboard.writeText(location.href).catch(() => {}); };
  $("show-test").onchange = () => pg.last && drawHeat(pg.last);
  $("show-train").onchange = () => pg.last && drawHeat(pg.last);
  $("discretize").onchange = () => pg.last && drawHeat(pg.last);
  $("csv").onchange = async () => {
    const file = $("csv").files[0]; if (!file) return;
    pg.csvText = await file.text(); config.dataset = "csv"; syncControls(); sendConfig();
  };
  const addPoint = (ev, nextClass) => {
    if (!$("draw").checked || !pg.data) return;
    ev.preventDefault();
    if (nextClass) $("draw-class").value = String((Number($("draw-class").value) + 1) % 5);
    const r = $("heat").getBoundingClientRect(), [x0, x1, y0, y1] = pg.data.window;
    const x = x0 + (ev.clientX - r.left) / r.width * (x1 - x0), y = y1 - (ev.clientY - r.top) / r.height * (y1 - y0);
    if (config.dataset !== "custom") config.points = [];
    config.dataset = "custom";
    config.points.push([Number(x.toFixed(3)), Number(y.toFixed(3)), Number($("draw-class").value)]);
    if (config.points.length >= 2 && new Set(config.points.map((p) => p[2])).size >= 2) sendConfig();
    else { writeURL(); syncControls(); }
  };
  $("heat").addEventListener("click", (ev) => addPoint(ev, false));
  $("heat").addEventListener("contextmenu", (ev) => addPoint(ev, true));
  window.addEventListener("hashchange", () => { config = readURL(); syncControls(); sendConfig(); });
  syncControls();
  connect();
}
setup();
